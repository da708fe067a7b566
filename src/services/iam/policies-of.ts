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

interface Holder {
  readonly type: IamEntityType;
  readonly id: string;
  readonly name: string;
}

/**
 * The policies of some users, groups and roles, in their order, each holder's inline ones (by name)
 * then its attached ones (as attached). A fixed number of queries however many there are: this
 * runs on every authorized request.
 */
async function policiesOfHolders(db: Tx, holders: readonly Holder[]): Promise<SourcedPolicy[]> {
  const ids = holders.map((h) => h.id);
  const inline = await db.selectFrom('iam_inline_policies').select(['entity_id', 'name', 'document']).where('entity_id', 'in', ids).orderBy('name').execute();
  const attached = await db
    .selectFrom('iam_attached_policies')
    .select(['entity_id', 'policy_arn'])
    .where('entity_id', 'in', ids)
    .orderBy('attached_at')
    .orderBy('policy_arn')
    .execute();
  // The account's own managed policies among them, each with its default version's document.
  const localArns = [...new Set(attached.map((a) => a.policy_arn).filter((arn) => !awsManagedPolicy(arn)))];
  const local = localArns.length
    ? await db
        .selectFrom('iam_policies as p')
        .innerJoin('iam_policy_versions as v', (j) => j.onRef('v.policy_id', '=', 'p.id').onRef('v.version_id', '=', 'p.default_version_id'))
        .select(['p.arn', 'p.name', 'v.document'])
        .where('p.arn', 'in', localArns)
        .execute()
    : [];
  const byArn = new Map(local.map((r) => [r.arn, r]));
  const out: SourcedPolicy[] = [];
  for (const h of holders) {
    for (const p of inline) {
      if (p.entity_id === h.id) out.push({ policy: storedPolicy(p.document, 'identity', `${h.type}/${h.name}/inline/${p.name}`), sourceType: h.type, sourceId: p.name });
    }
    for (const a of attached) {
      if (a.entity_id !== h.id) continue;
      const aws = awsManagedPolicy(a.policy_arn);
      if (aws) {
        out.push({ policy: storedPolicy(aws.document, 'identity', aws.arn), sourceType: 'aws-managed', sourceId: aws.name });
        continue;
      }
      const row = byArn.get(a.policy_arn);
      if (row) out.push({ policy: storedPolicy(row.document, 'identity', row.arn), sourceType: 'user-managed', sourceId: row.name });
    }
  }
  return out;
}

/** The identity-based policies of an entity with where each came from: a user's own, then its groups'. */
export async function identityPolicySources(db: Tx, entity: IamEntityKey): Promise<SourcedPolicy[]> {
  if (entity.type === 'role') {
    const role = await roleById(db, entity.id);
    return role ? policiesOfHolders(db, [{ type: 'role', id: role.id, name: role.name }]) : [];
  }
  if (entity.type === 'group') {
    const group = await groupById(db, entity.id);
    return group ? policiesOfHolders(db, [{ type: 'group', id: group.id, name: group.name }]) : [];
  }
  const user = await userById(db, entity.id);
  if (!user) return [];
  const groups = await db
    .selectFrom('iam_group_members as m')
    .innerJoin('iam_groups as g', 'g.id', 'm.group_id')
    .select(['g.id', 'g.name'])
    .where('m.user_id', '=', user.id)
    .orderBy('g.name_key')
    .execute();
  return policiesOfHolders(db, [{ type: 'user', id: user.id, name: user.name }, ...groups.map((g) => ({ type: 'group' as const, id: g.id, name: g.name }))]);
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
