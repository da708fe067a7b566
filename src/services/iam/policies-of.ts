// The identity-based policies of a user (its own and its groups'), a group or a role, parsed, as
// the authorizer evaluates them and SimulatePrincipalPolicy reports them: inline policies and the
// default versions of attached managed policies (AWS managed ones from the catalog).
import type { Tx } from '../../store/db.js';
import type { IamEntityType } from '../../store/schema.js';
import { storedPolicy } from './documents.js';
import { groupById, managedPolicyByArn, policyDocument, roleById, userById } from './entities/store.js';
import { awsManagedPolicy } from './managed/catalog.js';
import type { Policy } from './policy/index.js';
import type { Principal } from './principal.js';

/** A user, group or role, by its id (AIDA…, AGPA…, AROA…). */
export interface IamEntityKey {
  readonly type: IamEntityType;
  readonly id: string;
}

/** Where a policy came from, in SimulatePrincipalPolicy's words (PolicySourceType). */
export type PolicySource = 'user' | 'group' | 'role' | 'aws-managed' | 'user-managed';

export interface SourcedPolicy {
  readonly policy: Policy;
  readonly sourceType: PolicySource;
  /** The inline policy's or managed policy's name (SourcePolicyId). */
  readonly sourceId: string;
}

/** A managed policy's default document, parsed (undefined: no such policy). */
export async function managedPolicyDocument(db: Tx, arn: string, kind: 'identity' | 'boundary' = 'identity'): Promise<{ policy: Policy; aws: boolean; name: string } | undefined> {
  const aws = awsManagedPolicy(arn);
  if (aws) return { policy: storedPolicy(aws.document, kind, arn), aws: true, name: aws.name };
  const row = await managedPolicyByArn(db, arn);
  if (!row) return undefined;
  const text = await policyDocument(db, row);
  return text === undefined ? undefined : { policy: storedPolicy(text, kind, arn), aws: false, name: row.name };
}

async function ownPolicies(db: Tx, type: IamEntityType, id: string, name: string): Promise<SourcedPolicy[]> {
  const out: SourcedPolicy[] = [];
  const inline = await db.selectFrom('iam_inline_policies').select(['name', 'document']).where('entity_id', '=', id).orderBy('name').execute();
  for (const p of inline) out.push({ policy: storedPolicy(p.document, 'identity', `${type}/${name}/inline/${p.name}`), sourceType: type, sourceId: p.name });
  const attached = await db.selectFrom('iam_attached_policies').select('policy_arn').where('entity_id', '=', id).orderBy('attached_at').orderBy('policy_arn').execute();
  for (const a of attached) {
    const m = await managedPolicyDocument(db, a.policy_arn);
    if (m) out.push({ policy: m.policy, sourceType: m.aws ? 'aws-managed' : 'user-managed', sourceId: m.name });
  }
  return out;
}

/** The identity-based policies of an entity with where each came from: a user's own, then its groups'. */
export async function identityPolicySources(db: Tx, entity: IamEntityKey): Promise<SourcedPolicy[]> {
  if (entity.type === 'role') {
    const role = await roleById(db, entity.id);
    return role ? ownPolicies(db, 'role', role.id, role.name) : [];
  }
  if (entity.type === 'group') {
    const group = await groupById(db, entity.id);
    return group ? ownPolicies(db, 'group', group.id, group.name) : [];
  }
  const user = await userById(db, entity.id);
  if (!user) return [];
  const out = await ownPolicies(db, 'user', user.id, user.name);
  const groups = await db
    .selectFrom('iam_group_members as m')
    .innerJoin('iam_groups as g', 'g.id', 'm.group_id')
    .select(['g.id', 'g.name'])
    .where('m.user_id', '=', user.id)
    .orderBy('g.name_key')
    .execute();
  for (const g of groups) out.push(...(await ownPolicies(db, 'group', g.id, g.name)));
  return out;
}

/** The identity-based policies of a user (own and its groups'), a group or a role. */
export async function identityPolicies(db: Tx, entity: IamEntityKey): Promise<Policy[]> {
  return (await identityPolicySources(db, entity)).map((s) => s.policy);
}

/** A user's or role's permissions boundary, parsed; undefined when it has none (groups have none). */
export async function permissionsBoundaryOf(db: Tx, entity: IamEntityKey): Promise<Policy | undefined> {
  if (entity.type === 'group') return undefined;
  const row = entity.type === 'user' ? await userById(db, entity.id) : await roleById(db, entity.id);
  if (!row?.permissions_boundary) return undefined;
  return (await managedPolicyDocument(db, row.permissions_boundary, 'boundary'))?.policy;
}

/**
 * The user or role whose policies apply to a request's principal: the IAM user, or the role of an
 * assumed-role session; undefined for the account's root user (no identity policies apply to it)
 * and for a session whose role is gone.
 */
export async function entityOfPrincipal(db: Tx, principal: Principal): Promise<IamEntityKey | undefined> {
  if (principal.kind === 'user') return { type: 'user', id: principal.userId };
  if (principal.kind !== 'assumed-role') return undefined;
  const roleArn = principal.session?.roleArn;
  if (!roleArn) return undefined;
  const row = await db.selectFrom('iam_roles').select('id').where('account_id', '=', principal.accountId).where('arn', '=', roleArn).executeTakeFirst();
  return row && { type: 'role', id: row.id };
}
