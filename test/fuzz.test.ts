// Malformed requests, thousands of them, against a real server: correctly signed (so they get past
// SigV4 to the parser and the handlers) and then broken in every way a client or an attacker can
// break a Query request. Every answer must be a 4xx carrying an EC2 error envelope with one of EC2's
// own error codes, or a 2xx with well-formed XML for the rare mutation that is still a valid request.
// The operation list comes from the registry, so the fuzzer covers each family as it lands.
import { Agent, request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { XMLValidator } from 'fast-xml-parser';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { loadModel, type Operation, type ServiceModel } from '../src/models/index.js';
import { serviceRegistry } from '../src/services/registry.js';
import { resourceKinds } from '../src/services/ec2/common/resources.js';
import { newId } from '../src/lib/ids.js';
import { startTestServer, type TestServer } from './harness.js';
import { acceptedClientErrors } from './ec2-error-codes.js';
import { awkwardString, generate, leaves, Rng, toQueryParams, type Leaf } from './model-gen.js';
import { expatProblems, forbiddenIn, xmlProblem } from './xml-strict.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20240601);
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 4000);
const CONCURRENCY = 16;
const REQUEST_TIMEOUT_MS = 15_000;

let s: TestServer;
let host: string;
let port: number;
const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

interface Target {
  service: 'ec2' | 'sts';
  model: ServiceModel;
  op: Operation;
  leaves: Leaf[];
}
const targets: Target[] = [];
/** Ids that exist in the store (harvested from Describe answers), to mix with made-up ones. */
let existingIds: string[] = [];

beforeAll(async () => {
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
  await seedResources();
  existingIds = await harvestIds();
});

afterAll(async () => {
  agent.destroy();
  await s?.stop();
});

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

interface Raw {
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

async function send(r: Raw): Promise<{ status: number; text: string; bytes: Buffer; headers: Record<string, string | string[] | undefined> }> {
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

const enc = (s: string) => encodeURIComponent(s);
function encodePairs(pairs: [string, string][]): string {
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
// Mutations. Each takes the request as parameter pairs (plus a few transport knobs) and breaks it.

interface Req {
  target: Target;
  pairs: [string, string][];
  /** Byte-level damage, applied to the encoded body after every other mutation. */
  damage: ((body: Buffer) => Buffer)[];
  method?: 'GET' | 'POST';
}

type Mutation = (req: Req, rng: Rng) => void;

const TYPED = new Set(['integer', 'long', 'float', 'double', 'boolean', 'timestamp']);
const WRONG_VALUES = ['abc', '1.5', '1e3', '', ' 1', '0x10', 'NaN', 'Infinity', '-', '99999999999999999999999', 'yes', 'TRUE ', '[]', '{}', '2024-13-45T99:99:99Z', 'null'];
const BAD_INDEXES = ['0', '-1', '99999999', '100000000', '4294967296', '00001', '1e3', '1.5', 'x', '', ' 1', '１'];
const BAD_BASE64 = ['@@@@', 'abc', 'a', '====', 'YWJj=ZGVm', '!!', 'ü', '%%%', 'YW Jj\u0000', 'A'.repeat(4097) + '*'];

function pickLeaf(req: Req, rng: Rng, want: (l: Leaf) => boolean): Leaf | undefined {
  const xs = req.target.leaves.filter(want);
  return xs.length ? rng.pick(xs) : undefined;
}

function setParam(req: Req, key: string, value: string): void {
  const i = req.pairs.findIndex(([k]) => k === key);
  if (i >= 0) req.pairs[i] = [key, value];
  else req.pairs.push([key, value]);
}

function randomId(rng: Rng): string {
  const r = rng.next();
  if (r < 0.35 && existingIds.length) return rng.pick(existingIds);
  if (r < 0.85) return newId(rng.pick(Object.keys(resourceKinds)));
  return rng.pick(['i-', 'i-xyz', 'vpc-123', 'sg-' + 'f'.repeat(40), 'ami-0123456789ABCDEF0', 'subnet-1234567', 'i-0123456789abcdef0 ', 'default', '*', '']);
}

const mutations: Record<string, Mutation> = {
  'unknown-param': (req, rng) => {
    const base = rng.chance(0.5) && req.pairs.length > 2 ? rng.pick(req.pairs.slice(2))[0].split('.').slice(0, -1).join('.') : '';
    const name = rng.pick(['Bogus', 'instanceId', 'InstanceIds', 'Filters', 'Item', 'member', 'X-Amz-Foo', 'Action2', '__proto__', 'constructor']);
    req.pairs.push([base ? `${base}.${name}` : name, awkwardString(rng)]);
  },
  'wrong-type': (req, rng) => {
    const leaf = pickLeaf(req, rng, (l) => TYPED.has(l.shape.type));
    if (!leaf) return mutations['unknown-param']!(req, rng);
    setParam(req, leaf.path, rng.pick(WRONG_VALUES));
  },
  'missing-required': (req, rng) => {
    const leaf = pickLeaf(req, rng, (l) => l.required);
    if (leaf) req.pairs = req.pairs.filter(([k]) => k !== leaf.path && !k.startsWith(leaf.path + '.'));
    else if (req.pairs.length > 2) req.pairs.splice(rng.range(2, req.pairs.length - 1), 1);
  },
  'list-index': (req, rng) => {
    const listy = req.pairs.filter(([k]) => /\.\d+(\.|$)/.test(k));
    const leaf = listy.length ? rng.pick(listy)[0] : pickLeaf(req, rng, (l) => /\.1(\.|$)/.test(l.path))?.path;
    if (!leaf) return mutations['unknown-param']!(req, rng);
    const parts = leaf.split('.');
    const at = parts.findIndex((p) => /^\d+$/.test(p));
    parts[at] = rng.chance(0.25) ? String(rng.range(2, 1_000_000)) /* sparse */ : rng.pick(BAD_INDEXES);
    req.pairs.push([parts.join('.'), awkwardString(rng)]);
  },
  'deep-nesting': (req, rng) => {
    const root = req.target.leaves.length ? rng.pick(req.target.leaves).path.split('.')[0]! : 'Filter';
    const depth = rng.range(20, 400);
    const seg = rng.pick(['1', 'Name', 'Value', 'Item']);
    req.pairs.push([[root, ...Array.from({ length: depth }, () => seg)].join('.'), 'deep']);
  },
  'empty-value': (req, rng) => {
    const n = rng.range(1, 3);
    for (let i = 0; i < n && req.pairs.length > 2; i++) {
      const j = rng.range(2, req.pairs.length - 1);
      req.pairs[j] = [req.pairs[j]![0], ''];
    }
    if (rng.chance(0.3)) req.pairs.push(['', rng.chance(0.5) ? '' : 'x']);
    if (rng.chance(0.3)) {
      const leaf = pickLeaf(req, rng, () => true);
      if (leaf) setParam(req, leaf.path, '');
    }
  },
  'overlong-string': (req, rng) => {
    const leaf = pickLeaf(req, rng, (l) => l.shape.type === 'string');
    const big = rng.pick(['x', 'é', '😀', 'a ']).repeat(rng.range(5_000, 120_000));
    setParam(req, leaf?.path ?? 'Description', big);
  },
  'bad-base64': (req, rng) => {
    const leaf = pickLeaf(req, rng, (l) => l.shape.type === 'blob' || /UserData/.test(l.path));
    setParam(req, leaf?.path ?? 'UserData', rng.pick(BAD_BASE64));
  },
  'random-enum': (req, rng) => {
    const leaf = pickLeaf(req, rng, (l) => Boolean(l.shape.enum?.length));
    if (!leaf) return mutations['random-id']!(req, rng);
    const real = rng.pick(leaf.shape.enum!);
    setParam(req, leaf.path, rng.pick([real.toUpperCase(), ` ${real}`, `${real}x`, awkwardString(rng), '*', '']));
  },
  'random-id': (req, rng) => {
    const idLeaves = req.target.leaves.filter((l) => /Id(s)?(\.\d+)?$|Ids?\.\d+$|Id\.\d+$|Name$|Value\.\d+$/.test(l.path));
    const n = rng.range(1, 3);
    for (let i = 0; i < n; i++) {
      const leaf = idLeaves.length ? rng.pick(idLeaves) : pickLeaf(req, rng, (l) => l.shape.type === 'string');
      if (leaf) setParam(req, leaf.path, randomId(rng));
    }
  },
  'bad-version': (req, rng) => setParam(req, 'Version', rng.pick(['2015-10-01', '', '2016-11-15 ', 'latest', '2011-06-15', '2016-11-16', '2016-11-15\u0000'])),
  'unknown-action': (req, rng) => {
    const n = req.target.op.name;
    setParam(req, 'Action', rng.pick([`${n}X`, n.toLowerCase(), 'Foo', '', `${n} `, 'constructor', '__proto__', 'toString', 'DescribeEverything', n.slice(0, -1)]));
  },
  'missing-action': (req) => {
    req.pairs = req.pairs.filter(([k]) => k !== 'Action');
  },
  'oversized-body': (req, rng) => {
    req.pairs.push(['Description', 'a'.repeat(1024 * 1024 + rng.range(1, 300_000))]);
  },
  'non-utf8': (req, rng) => {
    const bad = rng.pick([Buffer.from([0xff, 0xfe]), Buffer.from([0xc3]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0x80, 0x80, 0x80]), Buffer.from('%FF%FE%C3%28')]);
    const where = rng.next();
    req.damage.push((body) => {
      const at = body.indexOf('=', Math.floor(where * body.length));
      return at < 0 ? Buffer.concat([body, bad]) : Buffer.concat([body.subarray(0, at + 1), bad, body.subarray(at + 1)]);
    });
  },
  'duplicate-key': (req, rng) => {
    const [k] = rng.pick(req.pairs);
    req.pairs.push([k, rng.chance(0.5) ? awkwardString(rng) : rng.pick(req.pairs)[1]]);
  },
  'malformed-query': (req, rng) => {
    const junk = rng.pick(['%zz', '%', '=&=&', 'a=b=c', '&&&', 'Filter..Name=x', 'Filter.1.=x', '.=x', 'Filter.=y', '..=..', 'Action', '=', 'Filter.1.Name.=x', '%E0%A4%A=1']);
    req.damage.push((body) => Buffer.concat([body, Buffer.from(`&${junk}`)]));
  },
  'get-query': (req) => {
    req.method = 'GET';
  },
  none: () => {},
};

const WEIGHTS: [string, number][] = [
  ['unknown-param', 8],
  ['wrong-type', 10],
  ['missing-required', 8],
  ['list-index', 8],
  ['deep-nesting', 4],
  ['empty-value', 8],
  ['overlong-string', 4],
  ['bad-base64', 4],
  ['random-enum', 8],
  ['random-id', 12],
  ['bad-version', 3],
  ['unknown-action', 3],
  ['missing-action', 2],
  ['oversized-body', 1],
  ['non-utf8', 4],
  ['duplicate-key', 5],
  ['malformed-query', 4],
  ['get-query', 2],
  ['none', 5],
];
const TOTAL_WEIGHT = WEIGHTS.reduce((a, [, w]) => a + w, 0);
function pickMutation(rng: Rng): string {
  let r = rng.next() * TOTAL_WEIGHT;
  for (const [name, w] of WEIGHTS) if ((r -= w) < 0) return name;
  return 'none';
}

// ---------------------------------------------------------------------------------------------

const EC2_ENVELOPE =
  /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<Response><Errors><Error><Code>([^<]+)<\/Code><Message>[^<]*<\/Message><\/Error><\/Errors><RequestID>[0-9a-f-]{36}<\/RequestID><\/Response>$/s;
const QUERY_ENVELOPE =
  /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<ErrorResponse[^>]*><Error><Type>Sender<\/Type><Code>([^<]+)<\/Code><Message>[^<]*<\/Message><\/Error><RequestId>[0-9a-f-]{36}<\/RequestId><\/ErrorResponse>$/s;

interface Outcome {
  ok: boolean;
  status: number;
  code: string;
  why?: string;
}

function judge(service: string, action: string | undefined, status: number, text: string, bytes: Buffer): Outcome {
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
  if (!acceptedClientErrors.has(code)) return { ok: false, status, code, why: `undocumented code ${code}` };
  return { ok: true, status, code };
}

function table(rows: [string, number][], title: string): string {
  const w = Math.max(title.length, ...rows.map(([k]) => k.length));
  return [title, ...rows.sort((a, b) => b[1] - a[1]).map(([k, n]) => `  ${k.padEnd(w)}  ${String(n).padStart(6)}`)].join('\n');
}

describe('fuzzing every implemented operation', () => {
  test(`${REQUESTS} signed, malformed requests: 4xx with an EC2 code, or 2xx with valid XML`, async () => {
    expect(targets.length).toBeGreaterThan(0);
    const codes = new Map<string, number>();
    const byMutation = new Map<string, number>();
    const failures: string[] = [];
    let next = 0;
    const t0 = Date.now();

    const one = async (i: number) => {
      const rng = new Rng(SEED + i * 7919);
      const target = rng.pick(targets);
      const { op, model } = target;
      const input = op.input ? generate(op.input, rng, { optional: 0.3, budget: 40, maxDepth: 4 }) : {};
      const req: Req = {
        target,
        pairs: [['Action', op.name], ['Version', model.apiVersion], ...(op.input ? toQueryParams(op.input, input, model.protocol) : [])],
        damage: [],
      };
      const applied: string[] = [];
      for (let k = rng.chance(0.7) ? 1 : rng.range(2, 3); k > 0; k--) {
        const name = pickMutation(rng);
        applied.push(name);
        mutations[name]!(req, rng);
      }
      for (const a of applied) byMutation.set(a, (byMutation.get(a) ?? 0) + 1);
      const encoded = encodePairs(req.pairs);
      const body = req.damage.reduce<Buffer>((b, f) => f(b), Buffer.from(encoded));
      const raw: Raw = req.method === 'GET' && !req.damage.length ? { method: 'GET', query: encoded, service: target.service } : { body, service: target.service };
      // The server reads parameters like URLSearchParams, the last of a repeated key winning.
      const action = new URLSearchParams(body.toString('utf8')).getAll('Action').at(-1);
      let outcome: Outcome;
      try {
        const res = await send(raw);
        outcome = judge(target.service, action, res.status, res.text, res.bytes);
      } catch (e) {
        outcome = { ok: false, status: 0, code: 'transport', why: (e as Error).message };
      }
      const key = `${outcome.status} ${outcome.code}`;
      codes.set(key, (codes.get(key) ?? 0) + 1);
      if (!outcome.ok) {
        failures.push(`#${i} ${op.name} [${applied.join('+')}] → ${key}: ${outcome.why}\n    ${body.toString('utf8').slice(0, 400)}`);
      }
    };

    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < REQUESTS) await one(next++);
      }),
    );
    const ms = Date.now() - t0;
    console.log(
      [
        `fuzz: ${REQUESTS} requests over ${targets.length} operations (${targets.map((t) => t.op.name).join(', ')}) in ${ms} ms, seed ${SEED}; ${existingIds.length} existing ids in play`,
        table([...codes], 'answers (status code):'),
        table([...byMutation], 'mutations applied:'),
      ].join('\n'),
    );
    expect(failures.slice(0, 25), `${failures.length} bad answers`).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Hostile bytes: random bytes and the characters XML 1.0 forbids, in action names, parameter names
// and values. A request whose parameters hold a forbidden character is refused at parse time with
// InvalidParameterValue; every answer, whatever it says, is well-formed XML to a strict parser.

const HOSTILE_REQUESTS = Number(process.env.FUZZ_HOSTILE_REQUESTS ?? 1000);

/** Bytes that, percent-encoded or raw in the body, reach the parser as hostile characters. */
function hostileBytes(rng: Rng): Buffer {
  const parts: Buffer[] = [];
  for (let n = rng.range(1, 6); n > 0; n--) {
    const r = rng.next();
    if (r < 0.35)
      parts.push(Buffer.from([rng.int(0x20)])); // a C0 control
    else if (r < 0.55)
      parts.push(Buffer.from(Array.from({ length: rng.range(1, 12) }, () => rng.int(256)))); // any bytes
    else if (r < 0.65) parts.push(Buffer.from(rng.pick(['\uFFFE', '\uFFFF', '\u007F', '\u0085', '\u2028', '<', '&', ']]>', '"', "'", '\r', '😀'])));
    else if (r < 0.72)
      parts.push(
        Buffer.from(
          rng.pick([
            [0xed, 0xa0, 0x80],
            [0xed, 0xbf, 0xbf],
            [0xef, 0xbf, 0xbe],
            [0xc0, 0x80],
            [0xf4, 0x90, 0x80, 0x80],
          ]),
        ),
      ); // surrogates, U+FFFE, overlong NUL, > U+10FFFF
    else parts.push(Buffer.from(rng.pick(['Filter', 'Name', 'Value', '1', 'x', 'Description', 'InstanceId', 'ami-0123456789abcdef0'])));
  }
  return Buffer.concat(parts);
}

/** Percent-encodes every byte (or, sometimes, leaves the bytes raw apart from the separators). */
function encodeBytes(b: Buffer, rng: Rng): Buffer {
  if (rng.chance(0.2)) return Buffer.from(b.map((x) => (x === 0x26 || x === 0x3d || x === 0x25 || x === 0x2b ? 0x5f : x)));
  return Buffer.from([...b].map((x) => '%' + x.toString(16).padStart(2, '0')).join(''));
}

describe('hostile bytes', () => {
  test(`${HOSTILE_REQUESTS} signed requests with random bytes in action names, parameter names and values: well-formed XML answers, forbidden characters refused`, async () => {
    const failures: string[] = [];
    const answers: Buffer[] = [];
    const codes = new Map<string, number>();
    let refused = 0;
    let next = 0;
    const one = async (i: number) => {
      const rng = new Rng(SEED + 31 + i * 104729);
      const target = rng.pick(targets);
      const { op, model } = target;
      const input = op.input ? generate(op.input, rng, { optional: 0.3, budget: 20, maxDepth: 3 }) : {};
      const pairs: [Buffer, Buffer][] = [['Action', op.name], ['Version', model.apiVersion], ...(op.input ? toQueryParams(op.input, input, model.protocol) : [])].map(([k, v]) => [
        Buffer.from(enc(k)),
        Buffer.from(enc(v)),
      ]);
      const where = rng.pick(['action', 'name', 'value', 'value', 'all'] as const);
      if (where === 'action' || where === 'all') pairs[0]![1] = Buffer.concat([rng.chance(0.5) ? Buffer.from(op.name) : Buffer.alloc(0), encodeBytes(hostileBytes(rng), rng)]);
      if (where === 'name' || where === 'all') pairs.push([encodeBytes(hostileBytes(rng), rng), Buffer.from(enc(awkwardString(rng)))]);
      if (where === 'value' || where === 'all') {
        const j = pairs.length > 2 && rng.chance(0.7) ? rng.range(2, pairs.length - 1) : -1;
        if (j >= 0) pairs[j]![1] = Buffer.concat([pairs[j]![1], encodeBytes(hostileBytes(rng), rng)]);
        else pairs.push([Buffer.from(rng.pick(['Description', 'DryRun', 'Filter.1.Name', 'InstanceId.1', 'Bogus'])), encodeBytes(hostileBytes(rng), rng)]);
      }
      const body = Buffer.concat(pairs.flatMap(([k, v], n) => [n ? Buffer.from('&') : Buffer.alloc(0), k, Buffer.from('='), v]));
      // What the server sees: the body read as UTF-8, then as a form, the last of a repeated key winning.
      const params = new Map(new URLSearchParams(body.toString('utf8')));
      const forbidden = [...params].some(([k, v]) => forbiddenIn(k) || forbiddenIn(v));
      let res: Awaited<ReturnType<typeof send>>;
      try {
        res = await send({ body, service: target.service });
      } catch (e) {
        failures.push(`#${i} ${op.name}: transport: ${(e as Error).message}`);
        return;
      }
      answers.push(res.bytes);
      const outcome = judge(target.service, params.get('Action'), res.status, res.text, res.bytes);
      codes.set(`${outcome.status} ${outcome.code}`, (codes.get(`${outcome.status} ${outcome.code}`) ?? 0) + 1);
      if (!outcome.ok)
        failures.push(`#${i} ${op.name} [${where}] → ${outcome.status} ${outcome.code}: ${outcome.why}\n    ${JSON.stringify(body.toString('latin1').slice(0, 300))}`);
      else if (forbidden) {
        refused++;
        if (outcome.status !== 400 || outcome.code !== 'InvalidParameterValue') {
          failures.push(`#${i} ${op.name} [${where}]: a forbidden character answered ${outcome.status} ${outcome.code}, not 400 InvalidParameterValue`);
        }
      }
    };
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < HOSTILE_REQUESTS) await one(next++);
      }),
    );
    console.log(`hostile bytes: ${HOSTILE_REQUESTS} requests, ${refused} carried a forbidden character\n${table([...codes], 'answers (status code):')}`);
    expect(failures.slice(0, 25), `${failures.length} bad answers`).toEqual([]);
    // The cases above must have happened, not just passed vacuously.
    expect(refused).toBeGreaterThan(HOSTILE_REQUESTS / 4);
    expect(answers).toHaveLength(HOSTILE_REQUESTS);
    // And the parser the AWS CLI uses agrees, answer by answer.
    const expat = await expatProblems(answers);
    const bad = expat.map((e, i) => (e ? `#${i}: ${e}: ${JSON.stringify(answers[i]!.toString('latin1').slice(0, 300))}` : null)).filter(Boolean);
    expect(bad.slice(0, 10), `${bad.length} answers expat refuses`).toEqual([]);
  });
});

describe('authentication on raw requests', () => {
  const body = () =>
    Buffer.from(
      encodePairs([
        ['Action', 'DescribeRegions'],
        ['Version', '2016-11-15'],
      ]),
    );
  const codeOf = (text: string) => /<Code>([^<]+)<\/Code>/.exec(text)?.[1];

  test('a correctly signed request passes (the baseline for the cases below)', async () => {
    const r = await send({ body: body() });
    expect(r.status).toBe(200);
    expect(r.text).toContain('<DescribeRegionsResponse');
  });

  test('unsigned → MissingAuthenticationToken', async () => {
    const r = await send({ body: body(), sign: 'none' });
    expect([r.status, codeOf(r.text)]).toEqual([401, 'MissingAuthenticationToken']);
  });

  test('wrong secret, tampered body → SignatureDoesNotMatch; unknown key → AuthFailure', async () => {
    const wrong = await send({ body: body(), creds: { accessKeyId: s.admin.accessKeyId, secretAccessKey: 'not-the-secret' } });
    expect([wrong.status, codeOf(wrong.text)]).toEqual([403, 'SignatureDoesNotMatch']);
    const tampered = await send({ body: body(), tamper: true });
    expect([tampered.status, codeOf(tampered.text)]).toEqual([403, 'SignatureDoesNotMatch']);
    const unknown = await send({ body: body(), creds: { accessKeyId: 'AKIAUNKNOWNUNKNOWN00', secretAccessKey: 'x' } });
    expect([unknown.status, codeOf(unknown.text)]).toEqual([401, 'AuthFailure']);
  });

  test('signed 20 minutes ago or 20 minutes ahead → RequestExpired', async () => {
    for (const skew of [-20, 20]) {
      const r = await send({ body: body(), signingDate: new Date(Date.now() + skew * 60_000) });
      expect([r.status, codeOf(r.text)]).toEqual([400, 'RequestExpired']);
    }
  });

  test('a malformed Authorization header → IncompleteSignature; an unknown region → AuthFailure', async () => {
    const r = await send({ body: body(), sign: 'none', headers: { authorization: 'AWS4-HMAC-SHA256 Credential=x', 'x-amz-date': '20240101T000000Z' } });
    expect([r.status, codeOf(r.text)]).toEqual([400, 'IncompleteSignature']);
    const region = await send({ body: body(), region: 'mars-north-1' });
    expect([region.status, codeOf(region.text)]).toEqual([401, 'AuthFailure']);
  });
});

describe('transport limits answer in the EC2 envelope', () => {
  const codeOf = (text: string) => EC2_ENVELOPE.exec(text)?.[1];

  test('a body over the limit → 413 InvalidRequest', async () => {
    const big = Buffer.from(
      encodePairs([
        ['Action', 'DescribeRegions'],
        ['Version', '2016-11-15'],
        ['Description', 'x'.repeat(1024 * 1024)],
      ]),
    );
    const r = await send({ body: big });
    expect([r.status, codeOf(r.text)]).toEqual([413, 'InvalidRequest']);
  });

  test('a request line over the HTTP parser’s limit → 431 InvalidRequest (not Node’s bare 431)', async () => {
    const r = await send({
      method: 'GET',
      query: encodePairs([
        ['Action', 'DescribeRegions'],
        ['Version', '2016-11-15'],
        ['RegionName.1', 'x'.repeat(40_000)],
      ]),
    });
    expect([r.status, codeOf(r.text)]).toEqual([431, 'InvalidRequest']);
    expect(r.headers['x-amzn-requestid']).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('a successful answer says how long the server took (Server-Timing)', async () => {
    const r = await send({
      body: Buffer.from(
        encodePairs([
          ['Action', 'DescribeRegions'],
          ['Version', '2016-11-15'],
        ]),
      ),
    });
    expect(r.status).toBe(200);
    expect(String(r.headers['server-timing'])).toMatch(/^app;dur=\d+(\.\d+)?$/);
  });
});
