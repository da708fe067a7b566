// CreateInternetGateway, DescribeInternetGateways, DeleteInternetGateway, Attach/DetachInternetGateway.
import type {
  AttachInternetGatewayRequest,
  CreateInternetGatewayRequest,
  CreateInternetGatewayResult,
  DeleteInternetGatewayRequest,
  DescribeInternetGatewaysRequest,
  DescribeInternetGatewaysResult,
  DetachInternetGatewayRequest,
} from '@aws-sdk/client-ec2';
import { ApiError, Errors } from '../../errors.js';
import { newId } from '../../../lib/ids.js';
import type { Ctx, Ec2Handlers } from '../../context.js';
import { queueVpcSync } from '../common/network-sync.js';
import { deleteAllTags, putTags, tagsForType, tagsOf } from '../tags/store.js';
import { describe } from './describe.js';
import { internetGatewayFilters } from './filters.js';
import { dependencies, getInternetGateway, getVpc, missingIds, toInternetGateway } from './store.js';
import { hasMappedAddressIn } from '../addresses/store.js';
import { deleteGatewayAssociation, deleteInternetGatewayRow, gatewayOfVpc, insertInternetGateway, internetGatewaysOf, setGatewayVpc } from './store/internet-gateways.js';

async function createInternetGateway(ctx: Ctx, input: CreateInternetGatewayRequest): Promise<CreateInternetGatewayResult> {
  const tags = tagsForType(input.TagSpecifications, ['internet-gateway'], 'internet-gateway');
  const id = newId('igw');
  await insertInternetGateway(ctx.db, { id, account_id: ctx.accountId, region: ctx.region, vpc_id: null, created_at: ctx.now.toISOString() });
  await putTags(ctx, 'internet-gateway', id, tags);
  return { InternetGateway: toInternetGateway({ id, account_id: ctx.accountId, region: ctx.region, vpc_id: null, created_at: ctx.now.toISOString() }, tags) };
}

async function describeInternetGateways(ctx: Ctx, input: DescribeInternetGatewaysRequest): Promise<DescribeInternetGatewaysResult> {
  const rows = await internetGatewaysOf(ctx.db, ctx.accountId, ctx.region);
  const tags = await tagsOf(ctx.db, ctx.accountId, ctx.region, 'internet-gateway');
  const page = describe(
    rows.map((r) => toInternetGateway(r, tags.get(r.id))),
    {
      ids: input.InternetGatewayIds,
      idOf: (g) => g.InternetGatewayId!,
      missing: (ids) => missingIds('igw', ids),
      filters: input.Filters,
      filterMap: internetGatewayFilters,
      tags: (g) => g.Tags,
      maxResults: input.MaxResults,
      nextToken: input.NextToken,
      min: 5,
      max: 1000,
    },
  );
  return { InternetGateways: page.items, NextToken: page.nextToken };
}

async function deleteInternetGateway(ctx: Ctx, input: DeleteInternetGatewayRequest): Promise<Record<string, never>> {
  const igw = await getInternetGateway(ctx, input.InternetGatewayId!);
  if (igw.vpc_id) throw dependencies('internetGateway', igw.id);
  // Routes that pointed at it stay behind as blackholes, as on EC2.
  await deleteGatewayAssociation(ctx.db, igw.id);
  await deleteInternetGatewayRow(ctx.db, igw.id);
  await deleteAllTags(ctx, igw.id);
  return {};
}

async function attachInternetGateway(ctx: Ctx, input: AttachInternetGatewayRequest): Promise<Record<string, never>> {
  const igw = await getInternetGateway(ctx, input.InternetGatewayId!);
  const vpc = await getVpc(ctx, input.VpcId!);
  if (igw.vpc_id) throw new ApiError('Resource.AlreadyAssociated', `resource ${igw.id} is already attached to network ${igw.vpc_id}`);
  if ((await gatewayOfVpc(ctx.db, vpc.id)) !== undefined) throw Errors.invalidParameterValue(`Network ${vpc.id} already has an internet gateway attached`);
  await setGatewayVpc(ctx.db, igw.id, vpc.id);
  // Routes to it start working: the subnets whose tables send traffic to it become public.
  await queueVpcSync(ctx, { vpcId: vpc.id, accountId: ctx.accountId, region: ctx.region });
  return {};
}

async function detachInternetGateway(ctx: Ctx, input: DetachInternetGatewayRequest): Promise<Record<string, never>> {
  const igw = await getInternetGateway(ctx, input.InternetGatewayId!);
  const vpc = await getVpc(ctx, input.VpcId!);
  if (igw.vpc_id !== vpc.id) throw new ApiError('Gateway.NotAttached', `resource ${igw.id} is not attached to network ${vpc.id}`);
  // Public addresses need the gateway: EC2 refuses while any are mapped in the VPC.
  // Any address of the ledger mapped to an interface of the VPC (ephemeral or elastic, primary or secondary IP).
  if (await hasMappedAddressIn(ctx.db, vpc.id)) {
    throw Errors.dependencyViolation(`Network ${vpc.id} has some mapped public address(es). Please unmap those public address(es) before detaching the gateway.`);
  }
  await setGatewayVpc(ctx.db, igw.id, null);
  // A gateway route table association (edge association) goes with the attachment.
  await deleteGatewayAssociation(ctx.db, igw.id);
  // Routes to it become blackholes.
  await queueVpcSync(ctx, { vpcId: vpc.id, accountId: ctx.accountId, region: ctx.region });
  return {};
}

export const handlers = {
  CreateInternetGateway: createInternetGateway,
  DescribeInternetGateways: describeInternetGateways,
  DeleteInternetGateway: deleteInternetGateway,
  AttachInternetGateway: attachInternetGateway,
  DetachInternetGateway: detachInternetGateway,
} satisfies Ec2Handlers;
