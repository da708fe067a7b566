// DescribeNetworkInterfaces. Interfaces are made by RunInstances for now; Create/Attach/Delete come later.
import type { DescribeNetworkInterfacesRequest, DescribeNetworkInterfacesResult, NetworkInterface } from '@aws-sdk/client-ec2';
import { Errors } from '../../../api/errors.js';
import { idPattern } from '../../../lib/ids.js';
import type { Ctx, HandlerMap } from '../../context.js';
import { applyFilters, validateFilters } from '../common/filters.js';
import { byKey, paginate } from '../common/pagination.js';
import { tagsOf } from '../tags/store.js';
import { networkInterfaceFilters } from './filters.js';
import { attachmentStatusFor, toNetworkInterface } from './store.js';

const ENI_ID = idPattern('eni');
const tagsOfEni = (n: NetworkInterface) => n.TagSet;

async function describeNetworkInterfaces(ctx: Ctx, input: DescribeNetworkInterfacesRequest): Promise<DescribeNetworkInterfacesResult> {
  const ids = input.NetworkInterfaceIds?.length ? [...new Set(input.NetworkInterfaceIds)] : undefined;
  if (ids && input.MaxResults !== undefined) {
    throw Errors.invalidParameterCombination('The parameter networkInterfaceIdSet cannot be used with the parameter maxResults');
  }
  for (const id of ids ?? []) {
    if (!ENI_ID.test(id)) throw Errors.notFound('InvalidNetworkInterfaceId.Malformed', `Invalid id: "${id}" (expecting "eni-...")`);
  }
  validateFilters(input.Filters, networkInterfaceFilters, { tags: tagsOfEni });
  let q = ctx.db
    .selectFrom('network_interfaces')
    .leftJoin('instances', 'instances.id', 'network_interfaces.instance_id')
    .selectAll('network_interfaces')
    .select(['instances.state as instance_state', 'instances.boots as instance_boots'])
    .where('network_interfaces.account_id', '=', ctx.accountId)
    .where('network_interfaces.region', '=', ctx.region);
  if (ids) q = q.where('network_interfaces.id', 'in', ids);
  const rows = await q.execute();
  if (ids) {
    const found = new Set(rows.map((r) => r.id));
    const missing = ids.filter((id) => !found.has(id));
    if (missing.length) {
      throw Errors.notFound('InvalidNetworkInterfaceID.NotFound', `The networkInterface ID${missing.length > 1 ? 's' : ''} '${missing.join(', ')}' ${missing.length > 1 ? 'do' : 'does'} not exist`);
    }
  }
  const tags = await tagsOf(ctx.db, ctx.accountId, ctx.region, 'network-interface', rows.length <= 500 ? rows.map((r) => r.id) : undefined);
  const all = rows.map((r) => {
    const { instance_state, instance_boots, ...row } = r;
    const status = instance_state ? attachmentStatusFor(instance_state, (instance_boots ?? 0) > 0) : 'attached';
    return toNetworkInterface(row, tags.get(row.id), status);
  });
  const matched = applyFilters(all, input.Filters, networkInterfaceFilters, { tags: tagsOfEni }).sort(byKey((n) => n.NetworkInterfaceId!));
  const page = paginate(matched, (n) => n.NetworkInterfaceId!, { maxResults: input.MaxResults, nextToken: input.NextToken, min: 5, max: 1000 });
  return { NetworkInterfaces: page.items, NextToken: page.nextToken };
}

export const handlers = {
  DescribeNetworkInterfaces: describeNetworkInterfaces,
} satisfies HandlerMap;
