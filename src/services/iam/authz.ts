// What an IAM or STS call asks IAM: its action on the users, groups, roles, policies or instance
// profiles it names (ARNs with their paths, as IAM's resource-level permissions see them), with the
// keys the Service Authorization Reference lists (tags asked for, a permissions boundary, a policy).
import type { Ctx } from '../context.js';
import { actionInfo } from './actions.js';
import { iamArn } from './arns.js';
import { entityTags, groupByName, instanceProfileByName, roleByName, userByName } from './entities/store.js';
import type { AuthzRequest, ContextValue } from './policy/index.js';

type Input = Record<string, unknown>;
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** aws:RequestTag/… and aws:TagKeys of a call's Tags ([{Key, Value}]) or TagKeys (untagging). */
function requestTagKeys(input: Input): Record<string, ContextValue> {
  const keys: Record<string, ContextValue> = {};
  const tags = Array.isArray(input.Tags) ? (input.Tags as { Key?: unknown; Value?: unknown }[]) : [];
  const names: string[] = [];
  for (const t of tags) {
    if (typeof t?.Key !== 'string') continue;
    names.push(t.Key);
    if (typeof t.Value === 'string') keys[`aws:RequestTag/${t.Key}`] = t.Value;
  }
  if (Array.isArray(input.TagKeys)) for (const k of input.TagKeys) if (typeof k === 'string') names.push(k);
  if (names.length) keys['aws:TagKeys'] = names;
  return keys;
}

/** A resource's ARN and, for an existing one, its tags as aws:ResourceTag/ and iam:ResourceTag/ keys. */
async function resourceOf(ctx: Ctx, type: string, operation: string, input: Input): Promise<{ arn: string; keys: Record<string, ContextValue> } | undefined> {
  const account = ctx.accountId;
  const creating = operation.startsWith('Create');
  const tagged = async (id: string) => {
    const keys: Record<string, ContextValue> = {};
    for (const [k, v] of Object.entries(await entityTags(ctx.db, id))) {
      keys[`aws:ResourceTag/${k}`] = v;
      keys[`iam:ResourceTag/${k}`] = v;
    }
    return keys;
  };
  switch (type) {
    case 'user': {
      const name = str(input.UserName) ?? (ctx.principal.kind === 'user' ? ctx.principal.name : undefined);
      if (!name) return undefined;
      const row = await userByName(ctx.db, account, name);
      if (row) return { arn: row.arn, keys: await tagged(row.id) };
      return { arn: iamArn(account, 'user', creating ? (str(input.Path) ?? '/') : '/', name), keys: {} };
    }
    case 'group': {
      const name = str(input.GroupName);
      if (!name) return undefined;
      const row = await groupByName(ctx.db, account, name);
      return { arn: row?.arn ?? iamArn(account, 'group', creating ? (str(input.Path) ?? '/') : '/', name), keys: {} };
    }
    case 'role': {
      const name = str(input.RoleName);
      if (!name) return undefined;
      const row = await roleByName(ctx.db, account, name);
      if (row) return { arn: row.arn, keys: await tagged(row.id) };
      return { arn: iamArn(account, 'role', creating ? (str(input.Path) ?? '/') : '/', name), keys: {} };
    }
    case 'policy': {
      const arn = str(input.PolicyArn) ?? (str(input.PolicyName) && iamArn(account, 'policy', str(input.Path) ?? '/', str(input.PolicyName)!));
      return arn ? { arn, keys: {} } : undefined;
    }
    case 'instance-profile': {
      const name = str(input.InstanceProfileName);
      if (!name) return undefined;
      const row = await instanceProfileByName(ctx.db, account, name);
      return { arn: row?.arn ?? iamArn(account, 'instance-profile', creating ? (str(input.Path) ?? '/') : '/', name), keys: {} };
    }
    default:
      return undefined;
  }
}

/** IAM's questions for one call. */
export async function iamAuthzRequests(ctx: Ctx, operation: string, input: Input): Promise<AuthzRequest[]> {
  const action = `iam:${operation}`;
  const info = actionInfo('iam', operation);
  const keys: Record<string, ContextValue> = requestTagKeys(input);
  const boundary = str(input.PermissionsBoundary);
  if (boundary) keys['iam:PermissionsBoundary'] = boundary;
  if (/^(Attach|Detach)(User|Group|Role)Policy$/.test(operation) && str(input.PolicyArn)) keys['iam:PolicyARN'] = str(input.PolicyArn)!;
  const out: AuthzRequest[] = [];
  for (const rt of info?.resourceTypes ?? []) {
    const r = await resourceOf(ctx, rt.name, operation, input);
    if (r) out.push({ action, resource: r.arn, context: { ...keys, ...r.keys } });
  }
  return out.length ? out : [{ action, resource: '*', context: keys }];
}

/** STS's questions: AssumeRole on the role, with the session's tags, name and source identity. */
export async function stsAuthzRequests(_ctx: Ctx, operation: string, input: Input): Promise<AuthzRequest[]> {
  const action = `sts:${operation}`;
  if (operation !== 'AssumeRole' || !str(input.RoleArn)) return [{ action, resource: '*', context: {} }];
  const keys: Record<string, ContextValue> = requestTagKeys(input);
  if (str(input.RoleSessionName)) keys['sts:RoleSessionName'] = str(input.RoleSessionName)!;
  if (str(input.SourceIdentity)) keys['sts:SourceIdentity'] = str(input.SourceIdentity)!;
  if (Array.isArray(input.TransitiveTagKeys)) keys['sts:TransitiveTagKeys'] = input.TransitiveTagKeys.filter((k): k is string => typeof k === 'string');
  const requests: AuthzRequest[] = [{ action, resource: str(input.RoleArn)!, context: keys }];
  // Passing session tags also needs sts:TagSession on the role.
  if (Array.isArray(input.Tags) && input.Tags.length) requests.push({ action: 'sts:TagSession', resource: str(input.RoleArn)!, context: keys });
  return requests;
}
