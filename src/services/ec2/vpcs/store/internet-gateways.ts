// The internet gateways' repository, and the InternetGateway shape.
import type { Tx } from '../../../../store/db.js';
import type { NewRow, Row } from '../../../../store/schema.js';
import type { InternetGateway, InternetGatewayAttachment, Tag } from '@aws-sdk/client-ec2';
import { Errors } from '../../../errors.js';
import type { Ctx } from '../../../context.js';
import { findOwned } from '../../common/resources.js';
import { notFound } from './shared.js';

// For the handlers.

/** Every internet gateway of the account in the region. */
export async function internetGatewaysOf(db: Tx, accountId: string, region: string): Promise<Row<'internet_gateways'>[]> {
  return db.selectFrom('internet_gateways').selectAll().where('account_id', '=', accountId).where('region', '=', region).execute();
}

/** The account's gateway with this id, or undefined. */
export async function findInternetGateway(db: Tx, accountId: string, region: string, id: string): Promise<Pick<Row<'internet_gateways'>, 'id' | 'vpc_id'> | undefined> {
  return db.selectFrom('internet_gateways').select(['id', 'vpc_id']).where('id', '=', id).where('account_id', '=', accountId).where('region', '=', region).executeTakeFirst();
}

/** The attached VPC (null when detached) of each of the account's gateways with these ids. */
export async function internetGatewayVpcs(db: Tx, accountId: string, ids: string[]): Promise<Map<string, string | null>> {
  const out = new Map<string, string | null>();
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await db
      .selectFrom('internet_gateways')
      .select(['id', 'vpc_id'])
      .where('id', 'in', ids.slice(i, i + 500))
      .where('account_id', '=', accountId)
      .execute();
    for (const r of rows) out.set(r.id, r.vpc_id);
  }
  return out;
}

/** The id of the gateway attached to a VPC, if any. */
export async function gatewayOfVpc(db: Tx, vpcId: string): Promise<string | undefined> {
  return (await db.selectFrom('internet_gateways').select('id').where('vpc_id', '=', vpcId).executeTakeFirst())?.id;
}

export async function insertInternetGateway(db: Tx, row: NewRow<'internet_gateways'>): Promise<void> {
  await db.insertInto('internet_gateways').values(row).execute();
}

export async function setGatewayVpc(db: Tx, id: string, vpcId: string | null): Promise<void> {
  await db.updateTable('internet_gateways').set({ vpc_id: vpcId }).where('id', '=', id).execute();
}

/** Removes a gateway's route table association (its edge association), if it has one. */
export async function deleteGatewayAssociation(db: Tx, gatewayId: string): Promise<void> {
  await db.deleteFrom('route_table_associations').where('gateway_id', '=', gatewayId).execute();
}

export async function deleteInternetGatewayRow(db: Tx, id: string): Promise<void> {
  await db.deleteFrom('internet_gateways').where('id', '=', id).execute();
}

export function toInternetGateway(row: Row<'internet_gateways'>, tags: Tag[] | undefined): InternetGateway {
  return {
    // EC2 reports an attached internet gateway's attachment as "available", not "attached".
    // The model's AttachmentStatus enum lacks 'available'; the wire value is a plain string.
    Attachments: row.vpc_id ? [{ State: 'available' as InternetGatewayAttachment['State'], VpcId: row.vpc_id }] : [],
    InternetGatewayId: row.id,
    OwnerId: row.account_id,
    Tags: tags ?? [],
  };
}

export async function getInternetGateway(ctx: Ctx, id: string): Promise<Row<'internet_gateways'>> {
  if (!id) throw Errors.missingParameter('InternetGatewayId');
  const row = await findOwned(ctx, 'internet_gateways', id);
  if (!row) throw notFound.igw(id);
  return row;
}
