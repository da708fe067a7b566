// The service registry: routing by the credential scope's service, the honest answer of a service
// with a model and no handlers, controllers only for served services, and handler maps typed
// against the SDK's operations (the `@ts-expect-error` lines are checked by `tsc --noEmit`: each
// must be an error, or the type check fails).
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { CreateTagsRequest, DescribeTagsRequest, DescribeTagsResult, DescribeVpcsResult } from '@aws-sdk/client-ec2';
import type { GetCallerIdentityResponse } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { registerControllers, serviceControllers } from '../src/controllers/index.js';
import type { Runner } from '../src/controllers/runner.js';
import type { Ctx, Ec2Handlers, Ec2Operations, Mismatched, NoMismatch, StsHandlers } from '../src/services/context.js';
import { serviceNames, serviceRegistry } from '../src/services/registry.js';
import { startTestServer, type TestServer } from './harness.js';

// ---------------------------------------------------------------------------------------------
// Types: what a family's `satisfies` and the registry's checks refuse.

const describeTags = async (_ctx: Ctx, input: DescribeTagsRequest): Promise<DescribeTagsResult> => ({ Tags: [], NextToken: input.NextToken });
const createTags = async (_ctx: Ctx, _input: CreateTagsRequest): Promise<Record<string, never>> => ({});
const describeVpcsAnswer = async (): Promise<DescribeVpcsResult> => ({ Vpcs: [] });

export const right = { DescribeTags: describeTags, CreateTags: createTags } satisfies Ec2Handlers;
export type RightChecked = NoMismatch<Mismatched<typeof right, Ec2Operations>>;

export const misnamed = {
  // @ts-expect-error an operation EC2 does not have
  DescribeTagz: describeTags,
} satisfies Ec2Handlers;

export const wrongService = {
  // @ts-expect-error an EC2 operation in STS's map
  DescribeTags: describeTags,
} satisfies StsHandlers;

export const wrongInput = {
  // @ts-expect-error CreateTags' input (Resources and Tags required) for DescribeTags
  DescribeTags: createTags,
} satisfies Ec2Handlers;

export const wrongOutputType = {
  // @ts-expect-error Tags is a list of TagDescription, not a number
  DescribeTags: async (_ctx: Ctx, _input: DescribeTagsRequest) => ({ Tags: 3 }),
} satisfies Ec2Handlers;

export const stsRight = {
  GetCallerIdentity: async (ctx: Ctx): Promise<GetCallerIdentityResponse> => ({ Account: ctx.accountId }),
} satisfies StsHandlers;

// All-optional shapes let another operation's result through `satisfies` ({ Vpcs?, NextToken? } is
// assignable to { Tags?, NextToken? }); the registry's check does not.
const _foreignOutput = { DescribeTags: describeVpcsAnswer } satisfies Ec2Handlers;
// @ts-expect-error DescribeTags declared to answer DescribeVpcs' Vpcs
export type ForeignOutputChecked = NoMismatch<Mismatched<typeof _foreignOutput, Ec2Operations>>;

const _foreignInput = { DescribeTags: async (_ctx: Ctx, _input: { Filters?: DescribeTagsRequest['Filters']; VpcIds?: string[] }) => ({}) } satisfies Ec2Handlers;
// @ts-expect-error DescribeTags declared to take DescribeVpcs' VpcIds
export type ForeignInputChecked = NoMismatch<Mismatched<typeof _foreignInput, Ec2Operations>>;

test('the typed maps above are what they say (the type errors are checked by tsc)', async () => {
  expect(Object.keys(right).sort()).toEqual(['CreateTags', 'DescribeTags']);
  expect(await right.DescribeTags({} as Ctx, { NextToken: 't' })).toEqual({ Tags: [], NextToken: 't' });
});

// ---------------------------------------------------------------------------------------------
// The registry at run time.

describe('the service registry', () => {
  test('registers the six services by signing name, handlers only for operations of their models', () => {
    const services = serviceRegistry();
    expect([...services.keys()]).toEqual([...serviceNames]);
    expect(serviceNames).toEqual(['ec2', 'sts', 'iam', 'elasticloadbalancing', 'autoscaling', 'monitoring']);
    for (const [name, service] of services) {
      expect(service.name).toBe(name);
      const model = service.model();
      if (model) expect(model.signingName).toBe(name);
      for (const op of Object.keys(service.handlers)) expect(model?.operations.has(op), `${name}:${op}`).toBe(true);
    }
    expect(Object.keys(services.get('ec2')!.handlers)).toContain('RunInstances');
    expect(Object.keys(services.get('sts')!.handlers)).toEqual(['GetCallerIdentity']);
    expect(services.get('ec2')!.setupRegion).toBeTypeOf('function');
    expect(services.get('sts')!.setupRegion).toBeUndefined();
  });

  test('controllers register for served services only', () => {
    expect(Object.keys(serviceControllers).every((s) => (serviceNames as readonly string[]).includes(s))).toBe(true);
    const kinds: string[] = [];
    const runner = { register: (kind: string) => void kinds.push(kind) } as unknown as Runner;
    registerControllers(runner, serviceNames);
    expect(kinds).toContain('instance.launch');
    expect(() => registerControllers(runner, ['sts'])).toThrow('controllers for ec2, which is not a registered service');
    const none: string[] = [];
    registerControllers({ register: (kind: string) => void none.push(kind) } as unknown as Runner, ['ec2', 'sts', 'iam']);
    expect(none.sort()).toEqual([...kinds].sort());
  });
});

describe('routing by the credential scope', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => {
    await s?.stop();
  });

  async function signedPost(service: string, body: string): Promise<{ status: number; text: string }> {
    const url = new URL(s.url);
    const signer = new SignatureV4({ credentials: s.admin, region: 'us-east-1', service, sha256: Hash.bind(null, 'sha256') });
    const req = await signer.sign(
      new HttpRequest({
        method: 'POST',
        protocol: url.protocol,
        hostname: url.hostname,
        port: Number(url.port),
        path: '/',
        headers: { host: url.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
        body,
      }),
    );
    const res = await fetch(s.url, { method: 'POST', headers: req.headers, body });
    return { status: res.status, text: await res.text() };
  }

  test('a service with a model and no handlers answers UnsupportedOperation in its own envelope', async () => {
    const model = serviceRegistry().get('autoscaling')!.model();
    expect(model).toBeDefined();
    const out = await signedPost('autoscaling', `Action=DescribeAutoScalingGroups&Version=${model!.apiVersion}`);
    expect(out.status).toBe(400);
    expect(out.text).toContain('<ErrorResponse');
    expect(out.text).toContain('<Code>UnsupportedOperation</Code>');
    expect(out.text).toContain('The operation DescribeAutoScalingGroups is not implemented by cumulo yet.');
  });

  test('a service that is not registered is refused; a registered one with handlers answers', async () => {
    const s3 = await signedPost('s3', 'Action=ListBuckets&Version=2006-03-01');
    expect(s3.status).toBe(400);
    expect(s3.text).toContain('The service s3 is not offered by this endpoint.');
    const sts = await signedPost('sts', 'Action=GetCallerIdentity&Version=2011-06-15');
    expect(sts.status).toBe(200);
    expect(sts.text).toContain(`<Account>${s.admin.accountId}</Account>`);
    const iam = await signedPost('iam', `Action=ListUsers&Version=${serviceRegistry().get('iam')!.model()!.apiVersion}`);
    expect(iam.status).toBe(200);
    expect(iam.text).toContain('<ListUsersResponse');
  });
});
