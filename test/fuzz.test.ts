// Malformed requests, thousands of them, against a real server: correctly signed (so they get past
// SigV4 to the parser and the handlers) and then broken in every way a client or an attacker can
// break a Query request. Every answer must be a 4xx carrying an EC2 error envelope with one of EC2's
// own error codes, or a 2xx with well-formed XML for the rare mutation that is still a valid request.
// The operation list comes from the registry, so the fuzzer covers each family as it lands.
import { describe, expect, test } from 'vitest';
import { newId } from '../src/lib/ids.js';
import { resourceKinds } from '../src/services/ec2/common/resources.js';
import { CONCURRENCY, encodePairs, existingIds, judge, SEED, send, table, targets, useFuzzServer, type Outcome, type Raw, type Target } from './fuzz-harness.js';
import { awkwardString, generate, Rng, toQueryParams, type Leaf } from './model-gen.js';

const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 4000);

useFuzzServer();

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
