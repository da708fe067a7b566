// Random values from the service model, for the protocol round-trip test and the fuzzer.
// Everything is driven by a seeded generator, so a failure names a seed that reproduces it.
import { wireName, type Dialect } from '../src/api/protocol/query.js';
import type { Member, Shape } from '../src/models/index.js';

/** mulberry32: small, fast, and good enough to pick test values. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** 0 ≤ n < max */
  int(max: number): number {
    return Math.floor(this.next() * max);
  }
  range(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
}

// Pieces of strings that trip up encoders: query-string syntax, XML syntax, whitespace, non-ASCII
// (two- and three-byte UTF-8 and a four-byte emoji, i.e. a surrogate pair in JS).
const AWKWARD = [
  ' ',
  '  ',
  '&',
  '=',
  '+',
  '/',
  '?',
  '%',
  '%20',
  '%2B',
  '#',
  ';',
  ',',
  '.',
  '*',
  ':',
  '@',
  '!',
  '~',
  "'",
  '"',
  '<',
  '>',
  ']]>',
  '&amp;',
  '&#13;',
  '\\',
  '\n',
  '\t',
  '\r\n',
  '\r',
  'é',
  'ß',
  'Ω',
  '日本語',
  '😀',
  '\u00a0',
  '\u2028',
  'a',
  'Z',
  '0',
  '9',
  '-',
  '_',
  'value',
  'Name',
  'Action',
  'item',
  'member',
  '1',
  'true',
  'null',
];
const PLAIN = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

export function awkwardString(rng: Rng): string {
  const r = rng.next();
  if (r < 0.05) return '';
  if (r < 0.1) return PLAIN[rng.int(PLAIN.length)]!.repeat(rng.range(100, 400));
  let s = '';
  const n = rng.range(1, 7);
  for (let i = 0; i < n; i++) s += rng.chance(0.3) ? PLAIN[rng.int(PLAIN.length)]! : rng.pick(AWKWARD);
  return s;
}

export interface GenOptions {
  /** Probability of including an optional member; `1` makes the fullest value the budget allows. */
  optional?: number;
  /** Below this depth only required members are generated (recursive shapes end here). */
  maxDepth?: number;
  /** Upper bound on generated scalars per value, so a fully populated value stays a sane size. */
  budget?: number;
}

/** A random value of `shape`, in the shape the SDKs and our handlers use (Date, Uint8Array, …). */
export function generate(shape: Shape, rng: Rng, opts: GenOptions = {}): unknown {
  const state = { budget: opts.budget ?? 400 };
  return gen(shape, rng, opts, 0, state);
}

/**
 * `need`: the value must put something on the wire (a required member, a list item). The Query
 * protocol cannot send an empty list or structure, so an empty one would read as "missing".
 */
function gen(shape: Shape, rng: Rng, opts: GenOptions, depth: number, state: { budget: number }, need = false): unknown {
  const maxDepth = opts.maxDepth ?? 7;
  const starved = depth >= maxDepth || state.budget <= 0;
  switch (shape.type) {
    case 'structure': {
      const out: Record<string, unknown> = {};
      const required = new Set(shape.required ?? []);
      const members = Object.values(shape.members!);
      for (const m of members) {
        const must = required.has(m.name);
        if (!must && (starved || !rng.chance(opts.optional ?? 0.5))) continue;
        out[m.name] = gen(m.shape, rng, opts, depth + 1, state, must);
      }
      if (need && !onWire(out) && members.length > 0 && depth < maxDepth + 12) {
        // Prefer a scalar: it ends the recursion of self-referencing shapes.
        const scalars = members.filter((m) => m.shape.type !== 'structure' && m.shape.type !== 'list' && m.shape.type !== 'map');
        const m = rng.pick(scalars.length ? scalars : members);
        out[m.name] = gen(m.shape, rng, opts, depth + 1, state, true);
      }
      return out;
    }
    case 'list': {
      const n = need ? (starved ? 1 : rng.range(1, 3)) : starved || rng.chance(0.1) ? 0 : rng.range(1, 3);
      return Array.from({ length: n }, () => gen(shape.member!.shape, rng, opts, depth + 1, state, true));
    }
    case 'map': {
      const n = need ? rng.range(1, 3) : starved ? 0 : rng.range(0, 3);
      const out: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) out[`k${i}${awkwardString(rng)}`] = gen(shape.value!.shape, rng, opts, depth + 1, state, true);
      return out;
    }
    default:
      state.budget--;
      return scalar(shape, rng);
  }
}

/** Whether a value writes any parameter (empty lists and structures write none in EC2's dialect). */
function onWire(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(onWire);
  if (v && typeof v === 'object' && !(v instanceof Date) && !(v instanceof Uint8Array)) return Object.values(v).some(onWire);
  return v !== undefined;
}

export function scalar(shape: Shape, rng: Rng): unknown {
  switch (shape.type) {
    case 'string':
      return shape.enum?.length && rng.chance(0.8) ? rng.pick(shape.enum) : awkwardString(rng);
    case 'integer':
      return rng.pick([0, 1, -1, 2147483647, -2147483648, rng.range(-1000, 100000)]);
    case 'long':
      return rng.pick([0, 1, -1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, rng.range(-1e9, 1e12)]);
    case 'float':
    case 'double':
      return rng.pick([0, 1.5, -2.25, 0.1, 123456.789, 1e-7, 3e21, Math.round(rng.next() * 1e6) / 1e3]);
    case 'boolean':
      return rng.chance(0.5);
    case 'timestamp':
      // Millisecond precision: what an ISO 8601 string on the wire carries.
      return new Date(Date.UTC(2000, 0, 1) + rng.int(40 * 365 * 86400) * 1000 + rng.int(1000));
    case 'blob': {
      const n = rng.range(0, 40);
      const b = new Uint8Array(n);
      for (let i = 0; i < n; i++) b[i] = rng.int(256);
      return b;
    }
    default:
      throw new Error(`model-gen: unexpected scalar ${shape.type}`);
  }
}

/**
 * The Query-protocol parameters for `value`, as the AWS SDKs write them: EC2 flattens lists and
 * uses queryName / capitalised locationName; awsQuery wraps lists in `member` and maps in `entry`.
 * protocol.test.ts checks this against the SDK's own serializer, so the fuzzer starts from the truth.
 */
export function toQueryParams(shape: Shape, value: unknown, dialect: Dialect, prefix = ''): [string, string][] {
  const out: [string, string][] = [];
  write(shape, value, dialect, prefix, out);
  return out;
}

function write(shape: Shape, value: unknown, dialect: Dialect, prefix: string, out: [string, string][]): void {
  if (value === undefined || value === null) return;
  const key = (k: string) => (prefix ? `${prefix}.${k}` : k);
  switch (shape.type) {
    case 'structure':
      for (const m of Object.values(shape.members!)) {
        write(m.shape, (value as Record<string, unknown>)[m.name], dialect, key(wireName(m, dialect)), out);
      }
      return;
    case 'list': {
      const items = value as unknown[];
      const flat = dialect === 'ec2' || shape.flattened || shape.member!.flattened;
      if (items.length === 0) {
        if (dialect === 'query') out.push([prefix, '']);
        return;
      }
      const base = flat ? prefix : key(shape.member!.locationName ?? 'member');
      items.forEach((item, i) => write(shape.member!.shape, item, dialect, `${base}.${i + 1}`, out));
      return;
    }
    case 'map': {
      const base = dialect === 'ec2' || shape.flattened ? prefix : key('entry');
      Object.entries(value as Record<string, unknown>).forEach(([k, v], i) => {
        out.push([`${base}.${i + 1}.${shape.key!.locationName ?? 'key'}`, k]);
        write(shape.value!.shape, v, dialect, `${base}.${i + 1}.${shape.value!.locationName ?? 'value'}`, out);
      });
      return;
    }
    case 'timestamp':
      out.push([prefix, (value as Date).toISOString().replace('.000Z', 'Z')]);
      return;
    case 'blob':
      out.push([prefix, Buffer.from(value as Uint8Array).toString('base64')]);
      return;
    default:
      out.push([prefix, String(value)]);
  }
}

/** One leaf (scalar) parameter position of an input shape, with its wire path. */
export interface Leaf {
  path: string;
  shape: Shape;
  member: Member;
  required: boolean;
}

/**
 * Every scalar parameter position of `shape` (lists at index 1), down to `maxDepth`: what the
 * fuzzer mutates. Recursive shapes stop at the depth limit.
 */
export function leaves(shape: Shape, dialect: Dialect, maxDepth = 5): Leaf[] {
  const out: Leaf[] = [];
  const walk = (s: Shape, prefix: string, depth: number, parentRequired: boolean) => {
    if (depth > maxDepth || s.type !== 'structure') return;
    const req = new Set(s.required ?? []);
    for (const m of Object.values(s.members!)) {
      let path = prefix ? `${prefix}.${wireName(m, dialect)}` : wireName(m, dialect);
      let inner = m.shape;
      while (inner.type === 'list') {
        const flat = dialect === 'ec2' || inner.flattened || inner.member!.flattened;
        path = flat ? `${path}.1` : `${path}.${inner.member!.locationName ?? 'member'}.1`;
        inner = inner.member!.shape;
      }
      if (inner.type === 'structure') walk(inner, path, depth + 1, parentRequired && req.has(m.name));
      else if (inner.type !== 'map') out.push({ path, shape: inner, member: m, required: parentRequired && req.has(m.name) });
    }
  };
  walk(shape, '', 0, true);
  return out;
}
