// The fuzzers' server and transport: raw Query bodies signed with the signer the SDKs use, the
// operations to aim at (from the registry), a few resources and every id Describe shows, and the
// judge of an answer. Each fuzz test file calls useFuzzServer() once.
import { Agent, request as httpRequest } from 'node:http';
import { afterAll, beforeAll } from 'vitest';
import { XMLValidator } from 'fast-xml-parser';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { loadModel, type Operation, type ServiceModel } from '../src/models/index.js';
import { serviceRegistry } from '../src/services/registry.js';
import { resourceKinds } from '../src/services/ec2/common/resources.js';
import { startTestServer, type TestServer } from './harness.js';
import { acceptedClientErrors } from './ec2-error-codes.js';
import { stsAcceptedClientErrors } from './sts-error-codes.js';
import { leaves, type Leaf } from './model-gen.js';
import { xmlProblem } from './xml-strict.js';

export const SEED = Number(process.env.FUZZ_SEED ?? 20240601);
export const CONCURRENCY = 16;
const REQUEST_TIMEOUT_MS = 15_000;

export let s: TestServer;
let host: string;
let port: number;
let agent: Agent;

export interface Target {
  service: 'ec2' | 'sts';
  model: ServiceModel;
  op: Operation;
  leaves: Leaf[];
}
export const targets: Target[] = [];
/** Ids that exist in the store (harvested from Describe answers), to mix with made-up ones. */
export let existingIds: string[] = [];

/** A server for this file's tests; `aim: false` skips making resources and harvesting ids (tests that aim at none). */
export function useFuzzServer(o: { aim?: boolean } = {}): void {
  beforeAll(async () => {
    agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    targets.length = 0;
    existingIds = [];
    s = await startTestServer();
    const u = new URL(s.url);
    host = u.hostname;
    port = Number(u.port);
    for (const [service, { handlers }] of serviceRegistry()) {
      if (service !== 'ec2' && service !== 'sts') continue;
      const model = loadModel(service)!;
      for (const name of Object.keys(handlers).sort()) {
        const op = model.operations.get(name);
        if (op) targets.push({ service, model, op, leaves: op.input ? leaves(op.input, model.protocol) : [] });
      }
    }
    if (o.aim === false) return;
    await seedResources();
    existingIds = await harvestIds();
  });

  afterAll(async () => {
    agent?.destroy();
    await s?.stop();
  });
}

// ---------------------------------------------------------------------------------------------
// Transport: raw bodies, signed with the signer the SDKs use.

const signers = new Map<string, SignatureV4>();
function signerFor(service: string, region: string, creds: { accessKeyId: string; secretAccessKey: string }): SignatureV4 {
  const key = `${service}|${region}|${creds.accessKeyId}|${creds.secretAccessKey}`;
  let signer = signers.get(key);
  if (!signer) {
    signer = new SignatureV4({ credentials: creds, region, service, sha256: Hash.bind(null, 'sha256'), uriEscapePath: true, applyChecksum: false });
    signers.set(key, signer);
  }
  return signer;
}

export interface Raw {
  method?: 'GET' | 'POST';
  body?: Buffer;
  /** Already encoded query string (GET). */
  query?: string;
  service?: string;
  region?: string;
  creds?: { accessKeyId: string; secretAccessKey: string };
  /** 'none' sends no Authorization at all. */
  sign?: 'ok' | 'none';
  signingDate?: Date;
  /** Changes the body after signing. */
  tamper?: boolean;
  headers?: Record<string, string>;
}

export async function send(r: Raw): Promise<{ status: number; text: string; bytes: Buffer; headers: Record<string, string | string[] | undefined> }> {
  const method = r.method ?? 'POST';
  const body = r.body ?? Buffer.alloc(0);
  let headers: Record<string, string> = {
    host: `${host}:${port}`,
    'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
    ...r.headers,
  };
  if (r.sign !== 'none') {
    const query = Object.fromEntries(groupQuery(r.query ?? ''));
    const signed = await signerFor(r.service ?? 'ec2', r.region ?? 'us-east-1', r.creds ?? s.admin).sign(
      new HttpRequest({ method, protocol: 'http:', hostname: host, port, path: '/', query, headers, body: body.length ? body : undefined }),
      { signingDate: r.signingDate ?? new Date() },
    );
    headers = signed.headers as Record<string, string>;
  }
  const payload = r.tamper ? Buffer.concat([body, Buffer.from('&DryRun=true')]) : body;
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host, port, method, path: r.query ? `/?${r.query}` : '/', agent, headers: { ...headers, 'content-length': String(payload.length) }, timeout: REQUEST_TIMEOUT_MS },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const bytes = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, text: bytes.toString('utf8'), bytes, headers: res.headers });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer in ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    // An oversized body is answered before it is read to the end; the server drains the rest.
    req.end(payload);
  });
}

function groupQuery(q: string): Map<string, string | string[]> {
  const out = new Map<string, string | string[]>();
  for (const [k, v] of new URLSearchParams(q)) {
    const prev = out.get(k);
    out.set(k, prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v]);
  }
  return out;
}

export const enc = (s: string) => encodeURIComponent(s);
export function encodePairs(pairs: [string, string][]): string {
  return pairs.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&');
}

// ---------------------------------------------------------------------------------------------
// State to aim at: a few resources made through the SDK when their families are registered, and
// every id any Describe call shows.

async function seedResources(): Promise<void> {
  const ec2 = serviceRegistry().get('ec2')?.handlers ?? {};
  const client = s.ec2();
  const { CreateKeyPairCommand, CreateVpcCommand, CreateSecurityGroupCommand, CreateSubnetCommand, DescribeImagesCommand, RunInstancesCommand } =
    await import('@aws-sdk/client-ec2');
  const attempt = async (f: () => Promise<unknown>) => {
    try {
      return await f();
    } catch {
      return undefined;
    }
  };
  if (ec2.CreateKeyPair) await attempt(() => client.send(new CreateKeyPairCommand({ KeyName: 'fuzz-key' })));
  let vpcId: string | undefined;
  if (ec2.CreateVpc) vpcId = ((await attempt(() => client.send(new CreateVpcCommand({ CidrBlock: '10.77.0.0/16' })))) as { Vpc?: { VpcId?: string } })?.Vpc?.VpcId;
  if (ec2.CreateSubnet && vpcId) await attempt(() => client.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.77.1.0/24' })));
  if (ec2.CreateSecurityGroup) await attempt(() => client.send(new CreateSecurityGroupCommand({ GroupName: 'fuzz-sg', Description: 'fuzz', VpcId: vpcId })));
  if (ec2.RunInstances && ec2.DescribeImages) {
    const images = (await attempt(() => client.send(new DescribeImagesCommand({ Owners: ['self', 'amazon', '136693071363'] })))) as { Images?: { ImageId?: string }[] };
    const imageId = images?.Images?.[0]?.ImageId;
    if (imageId) await attempt(() => client.send(new RunInstancesCommand({ ImageId: imageId, MinCount: 2, MaxCount: 2, InstanceType: 't3.micro' })));
  }
}

const ID_RE = new RegExp(`\\b(?:${Object.keys(resourceKinds).join('|')})-[0-9a-f]{8,17}\\b`, 'g');

async function harvestIds(): Promise<string[]> {
  const ids = new Set<string>();
  for (const t of targets) {
    if (t.service !== 'ec2' || !/^Describe/.test(t.op.name)) continue;
    const r = await send({
      body: Buffer.from(
        encodePairs([
          ['Action', t.op.name],
          ['Version', t.model.apiVersion],
        ]),
      ),
    });
    for (const m of r.text.matchAll(ID_RE)) ids.add(m[0]);
  }
  return [...ids];
}

// ---------------------------------------------------------------------------------------------

export const EC2_ENVELOPE =
  /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<Response><Errors><Error><Code>([^<]+)<\/Code><Message>[^<]*<\/Message><\/Error><\/Errors><RequestID>[0-9a-f-]{36}<\/RequestID><\/Response>$/s;
const QUERY_ENVELOPE =
  /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<ErrorResponse[^>]*><Error><Type>Sender<\/Type><Code>([^<]+)<\/Code><Message>[^<]*<\/Message><\/Error><RequestId>[0-9a-f-]{36}<\/RequestId><\/ErrorResponse>$/s;

export interface Outcome {
  ok: boolean;
  status: number;
  code: string;
  why?: string;
}

export function judge(service: string, action: string | undefined, status: number, text: string, bytes: Buffer): Outcome {
  // Every answer, error or not, is a document a strict XML parser takes.
  const problem = xmlProblem(bytes);
  if (problem) return { ok: false, status, code: status >= 200 && status < 300 ? '2xx' : '?', why: `ill-formed XML: ${problem}` };
  if (status >= 200 && status < 300) {
    const valid = XMLValidator.validate(text);
    if (valid !== true) return { ok: false, status, code: '2xx', why: `invalid XML: ${JSON.stringify(valid)}` };
    if (!text.includes(`<${action}Response`)) return { ok: false, status, code: '2xx', why: `not a ${action}Response` };
    return { ok: true, status, code: '2xx' };
  }
  const m = EC2_ENVELOPE.exec(text) ?? (service === 'sts' ? QUERY_ENVELOPE.exec(text) : null);
  if (!m) return { ok: false, status, code: '?', why: `no error envelope: ${text.slice(0, 300)}` };
  const code = m[1]!;
  if (status < 400 || status >= 500) return { ok: false, status, code, why: `status ${status}` };
  // The protocol-level refusals (UnknownParameter, InvalidRequest, …) are the same for every Query
  // service; STS adds its own codes.
  if (!acceptedClientErrors.has(code) && !(service === 'sts' && stsAcceptedClientErrors.has(code))) return { ok: false, status, code, why: `undocumented code ${code}` };
  return { ok: true, status, code };
}

export function table(rows: [string, number][], title: string): string {
  const w = Math.max(title.length, ...rows.map(([k]) => k.length));
  return [title, ...rows.sort((a, b) => b[1] - a[1]).map(([k, n]) => `  ${k.padEnd(w)}  ${String(n).padStart(6)}`)].join('\n');
}
