// AWS managed policies (arn:aws:iam::aws:policy/…): the same in every account, read-only, their
// documents AWS's own. The catalog is data (data/*.json), loaded once.
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

const ADMINISTRATOR_ACCESS: AwsManagedPolicy = {
  name: 'AdministratorAccess',
  arn: 'arn:aws:iam::aws:policy/AdministratorAccess',
  path: '/',
  policyId: 'ANPAIWMBCKSKIEE64ZLYK',
  description: 'Provides full access to AWS services and resources.',
  defaultVersionId: 'v1',
  createDate: '2015-02-06T18:39:46Z',
  updateDate: '2015-02-06T18:39:46Z',
  document: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }),
};

const catalog = new Map<string, AwsManagedPolicy>([[ADMINISTRATOR_ACCESS.arn, ADMINISTRATOR_ACCESS]]);

/** An AWS managed policy by ARN (undefined: no such AWS managed policy). */
export function awsManagedPolicy(arn: string): AwsManagedPolicy | undefined {
  return catalog.get(arn);
}

/** Every AWS managed policy, by name. */
export function awsManagedPolicies(): readonly AwsManagedPolicy[] {
  return [...catalog.values()].sort((a, b) => a.name.localeCompare(b.name));
}
