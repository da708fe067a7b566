// AWS managed policies (arn:aws:iam::aws:policy/…): the same in every account, read-only, their
// documents AWS's own. The catalog is data: one file per policy in ./data, each naming where its
// facts came from, read once on first use.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parsePolicy, type Policy } from '../policy/index.js';

export interface AwsManagedPolicy {
  readonly name: string;
  readonly arn: string;
  readonly path: string;
  readonly policyId: string;
  readonly description: string;
  readonly defaultVersionId: string;
  readonly createDate: string;
  readonly updateDate: string;
  /** The default version's document (JSON text). */
  readonly document: string;
}

/** The format of ./data/<name>.json. */
export interface AwsManagedPolicyFile {
  name: string;
  arn: string;
  path: string;
  policyId: string;
  description: string;
  defaultVersionId: string;
  createDate: string;
  updateDate: string;
  /** Where each fact came from (document and dates, policyId, description). */
  source: Record<string, string>;
  /** The default version's document, as AWS publishes it. */
  document: { Version: string; Statement: unknown };
}

/** ./data beside this module (src), or the sources' copy when running the build (dist/services/iam/managed). */
export function catalogDir(): string {
  for (const rel of ['./data/', '../../../../src/services/iam/managed/data/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(dir)) return dir;
  }
  throw new Error('the AWS managed policy catalog (src/services/iam/managed/data) is missing');
}

/** One data file as a catalog entry; throws when its name, path and ARN disagree. */
export function fromFile(f: AwsManagedPolicyFile, file = `${f.name}.json`): AwsManagedPolicy {
  if (file !== `${f.name}.json`) throw new Error(`${file}: holds ${f.name}`);
  if (!/^\/(?:[\w+=,.@-]+\/)*$/.test(f.path)) throw new Error(`${file}: bad path ${f.path}`);
  if (f.arn !== `arn:aws:iam::aws:policy${f.path}${f.name}`) throw new Error(`${file}: ARN ${f.arn} is not policy${f.path}${f.name}`);
  if (!/^ANPA[A-Z0-9]{17}$/.test(f.policyId)) throw new Error(`${file}: bad policy id ${f.policyId}`);
  if (!/^v\d+$/.test(f.defaultVersionId)) throw new Error(`${file}: bad version ${f.defaultVersionId}`);
  return {
    name: f.name,
    arn: f.arn,
    path: f.path,
    policyId: f.policyId,
    description: f.description,
    defaultVersionId: f.defaultVersionId,
    createDate: f.createDate,
    updateDate: f.updateDate,
    document: JSON.stringify(f.document),
  };
}

let catalog: Map<string, AwsManagedPolicy> | undefined;

function load(): Map<string, AwsManagedPolicy> {
  if (catalog) return catalog;
  const dir = catalogDir();
  const entries = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => fromFile(JSON.parse(readFileSync(join(dir, f), 'utf8')) as AwsManagedPolicyFile, f));
  catalog = new Map(entries.sort((a, b) => a.name.localeCompare(b.name)).map((p) => [p.arn, p]));
  return catalog;
}

/** An AWS managed policy by ARN (undefined: no such AWS managed policy). */
export function awsManagedPolicy(arn: string): AwsManagedPolicy | undefined {
  return load().get(arn);
}

/** Every AWS managed policy, by name. */
export function awsManagedPolicies(): readonly AwsManagedPolicy[] {
  return [...load().values()];
}

const parsed = new Map<string, Policy>();

/**
 * The policy's default version, parsed for the evaluator, once per process: ReadOnlyAccess is some
 * 90 kB of JSON whose parse takes tens of milliseconds, too much to repeat on every request.
 */
export function parsedAwsManagedPolicy(p: AwsManagedPolicy): Policy {
  let policy = parsed.get(p.arn);
  if (!policy) parsed.set(p.arn, (policy = parsePolicy(p.document, 'identity', p.arn, { requireCurrentVersion: true })));
  return policy;
}
