// Condition operators, compiled once per statement and evaluated per request. AWS's rules: the
// operators of a block are ANDed, the keys of an operator ANDed, the values of a key ORed (for a
// negated operator: none may match); an absent key fails a positive operator and passes a negated
// one; …IfExists passes on an absent key; ForAllValues passes on an absent or empty key, ForAnyValue
// fails on one.
import { contains, parseCidrLoose, parseIp, type Cidr } from '../../../lib/cidr.js';
import { arnMatch, compileArnPattern, compileGlob, globMatch, render, splitArn, tokenize, type ArnPattern, type Context, type Glob, type Token, type Unresolved } from './match.js';
import type { ConditionBlock } from './types.js';

type Family = 'String' | 'Numeric' | 'Date' | 'Bool' | 'Binary' | 'Ip' | 'Arn' | 'Null';
type Compare = 'eq' | 'lt' | 'le' | 'gt' | 'ge';

interface OperatorInfo {
  readonly family: Family;
  readonly negated: boolean;
  readonly compare: Compare;
  /** StringLike / ArnLike / ArnEquals: '*' and '?' are wildcards. */
  readonly like: boolean;
  readonly ignoreCase: boolean;
}

const op = (family: Family, negated = false, compare: Compare = 'eq', like = false, ignoreCase = false): OperatorInfo => ({ family, negated, compare, like, ignoreCase });

/** Every operator IAM knows, without prefix or IfExists. */
export const OPERATORS: Readonly<Record<string, OperatorInfo>> = {
  StringEquals: op('String'),
  StringNotEquals: op('String', true),
  StringEqualsIgnoreCase: op('String', false, 'eq', false, true),
  StringNotEqualsIgnoreCase: op('String', true, 'eq', false, true),
  StringLike: op('String', false, 'eq', true),
  StringNotLike: op('String', true, 'eq', true),
  NumericEquals: op('Numeric'),
  NumericNotEquals: op('Numeric', true),
  NumericLessThan: op('Numeric', false, 'lt'),
  NumericLessThanEquals: op('Numeric', false, 'le'),
  NumericGreaterThan: op('Numeric', false, 'gt'),
  NumericGreaterThanEquals: op('Numeric', false, 'ge'),
  DateEquals: op('Date'),
  DateNotEquals: op('Date', true),
  DateLessThan: op('Date', false, 'lt'),
  DateLessThanEquals: op('Date', false, 'le'),
  DateGreaterThan: op('Date', false, 'gt'),
  DateGreaterThanEquals: op('Date', false, 'ge'),
  Bool: op('Bool'),
  BinaryEquals: op('Binary'),
  IpAddress: op('Ip'),
  NotIpAddress: op('Ip', true),
  ArnEquals: op('Arn', false, 'eq', true),
  ArnLike: op('Arn', false, 'eq', true),
  ArnNotEquals: op('Arn', true, 'eq', true),
  ArnNotLike: op('Arn', true, 'eq', true),
  Null: op('Null'),
};

export interface ParsedOperator {
  readonly name: string;
  readonly info: OperatorInfo;
  readonly set?: 'all' | 'any';
  readonly ifExists: boolean;
}

/** 'ForAnyValue:StringLikeIfExists' → its parts; undefined for an operator IAM does not know. */
export function parseOperator(written: string): ParsedOperator | undefined {
  let name = written;
  let set: 'all' | 'any' | undefined;
  if (name.startsWith('ForAllValues:')) [set, name] = ['all', name.slice(13)];
  else if (name.startsWith('ForAnyValue:')) [set, name] = ['any', name.slice(12)];
  let ifExists = false;
  if (name.endsWith('IfExists') && name !== 'IfExists') [ifExists, name] = [true, name.slice(0, -8)];
  const info = Object.hasOwn(OPERATORS, name) ? OPERATORS[name] : undefined;
  // Null takes no IfExists (the key's presence is what it tests).
  if (!info || (info.family === 'Null' && ifExists)) return undefined;
  return { name, info, ifExists, ...(set && { set }) };
}

// ---------------------------------------------------------------------------------------------
// Values

const NO_CONTEXT: Context = new Map();

/** ISO 8601 as IAM reads it: a date, optionally a time, optionally a zone. */
const ISO = /^(-?\d{1,9})(?:-(\d{2})(?:-(\d{2}))?)?(?:[Tt](\d{1,2})(?::(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?([Zz]|[+-]\d{2}(?::?\d{2})?)?)?$/;

/** Milliseconds since the epoch, from ISO 8601 or epoch seconds; undefined when neither. */
export function parseDate(s: string): number | undefined {
  if (/^\d+$/.test(s)) return BigInt(s) <= 9223372036854775807n ? Number(s) * 1000 : undefined;
  const m = ISO.exec(s);
  if (!m) return undefined;
  const [, y, mo = '1', d = '1', h = '0', mi = '0', sec = '0', frac = '0', zone] = m;
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > 31 || Number(h) > 23 || Number(mi) > 59 || Number(sec) > 59) return undefined;
  let ms = Date.UTC(Number(y), month - 1, day, Number(h), Number(mi), Number(sec), Number(frac.padEnd(3, '0').slice(0, 3)));
  if (zone && zone !== 'Z' && zone !== 'z') {
    const zm = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone)!;
    if (Number(zm[2]) > 23 || Number(zm[3] ?? 0) > 59) return undefined;
    const off = (Number(zm[2]) * 60 + Number(zm[3] ?? 0)) * 60_000;
    ms += zm[1] === '+' ? -off : off;
  }
  return Number.isNaN(ms) ? undefined : ms;
}

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const parseNumber = (s: string): number | undefined => (NUMBER.test(s) ? Number(s) : undefined);

function cmp(c: Compare, a: number, b: number): boolean {
  switch (c) {
    case 'eq':
      return a === b;
    case 'lt':
      return a < b;
    case 'le':
      return a <= b;
    case 'gt':
      return a > b;
    default:
      return a >= b;
  }
}

/** One policy value, prepared for its operator's family. */
interface Value {
  readonly raw: string;
  /** String operators without variables: the value to compare (lower-cased for *IgnoreCase). */
  readonly fixed?: string;
  readonly tokens?: readonly Token[];
  readonly hasVars?: boolean;
  readonly glob?: Glob;
  readonly arn?: ArnPattern;
  readonly num?: number;
  readonly cidr?: Cidr;
}

function prepareValue(raw: string, p: ParsedOperator, variables: boolean): Value {
  const { family, like, ignoreCase } = p.info;
  switch (family) {
    case 'String': {
      const tokens = tokenize(raw, variables, like);
      const hasVars = tokens.some((t) => t.t === 'var');
      if (like) return { raw, tokens, hasVars, glob: compileGlob(tokens, ignoreCase) };
      if (hasVars) return { raw, tokens, hasVars };
      const fixed = render(tokens, NO_CONTEXT, { unresolved: false });
      return { raw, fixed: ignoreCase ? fixed.toLowerCase() : fixed };
    }
    case 'Arn':
      return { raw, arn: compileArnPattern(tokenize(raw, variables, true)) };
    case 'Numeric':
      return { raw, num: parseNumber(raw) };
    case 'Date':
      return { raw, num: parseDate(raw) };
    case 'Ip': {
      const ip = raw.includes('/') ? undefined : parseIp(raw);
      return { raw, cidr: ip ? { family: ip.family, network: ip.value, prefix: ip.family === 4 ? 32 : 128 } : parseCidrLoose(raw) };
    }
    default:
      return { raw: family === 'Bool' ? raw.toLowerCase() : raw };
  }
}

/** Does one request value match one policy value (positively: the negation is applied by the caller)? */
function matchOne(p: ParsedOperator, v: Value, req: string, ctx: Context, u: Unresolved): boolean {
  const { family, like, ignoreCase, compare } = p.info;
  switch (family) {
    case 'String': {
      if (like) return globMatch(v.glob!, v.glob!.kind === 'exact' && ignoreCase ? req.toLowerCase() : req, ctx, u);
      if (v.fixed !== undefined) return v.fixed === (ignoreCase ? req.toLowerCase() : req);
      const want = render(v.tokens!, ctx, u);
      return ignoreCase ? want.toLowerCase() === req.toLowerCase() : want === req;
    }
    case 'Arn':
      return arnMatch(v.arn!, req, splitArn(req), ctx, u);
    case 'Numeric': {
      const n = parseNumber(req);
      return v.num !== undefined && n !== undefined && cmp(compare, n, v.num);
    }
    case 'Date': {
      const n = parseDate(req);
      return v.num !== undefined && n !== undefined && cmp(compare, n, v.num);
    }
    case 'Bool':
      return req.toLowerCase() === v.raw;
    case 'Binary':
      return req === v.raw;
    case 'Ip': {
      const ip = v.cidr && parseIp(req);
      if (!ip) return false;
      let { family, value } = ip;
      // A dual-stack socket reports an IPv4 peer as ::ffff:a.b.c.d; it is still that IPv4 address.
      if (family === 6 && v.cidr!.family === 4 && value >> 32n === 0xffffn) [family, value] = [4, value & 0xffffffffn];
      return contains(v.cidr!, { family, network: value, prefix: family === 4 ? 32 : 128 });
    }
    default:
      return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Blocks

interface KeyTest {
  readonly key: string;
  readonly values: readonly Value[];
}

interface OperatorTest {
  readonly op: ParsedOperator;
  readonly keys: readonly KeyTest[];
}

/** A statement's Condition, ready to evaluate; undefined operators (refused by parsePolicy) never hold. */
export interface CompiledCondition {
  readonly tests: readonly OperatorTest[];
  readonly unknown: boolean;
}

export function compileCondition(block: ConditionBlock, variables: boolean): CompiledCondition {
  const tests: OperatorTest[] = [];
  let unknown = false;
  for (const [written, keys] of Object.entries(block)) {
    const p = parseOperator(written);
    if (!p) {
      // IAM accepts an unknown operator only with no keys, and then it tests nothing.
      if (Object.keys(keys).length) unknown = true;
      continue;
    }
    tests.push({ op: p, keys: Object.entries(keys).map(([key, vals]) => ({ key: key.toLowerCase(), values: vals.map((raw) => prepareValue(raw, p, variables)) })) });
  }
  return { tests, unknown };
}

function anyValueMatches(p: ParsedOperator, k: KeyTest, req: string, ctx: Context, u: Unresolved): boolean {
  for (const v of k.values) if (matchOne(p, v, req, ctx, u)) return true;
  return false;
}

/** One key of one operator against the request. */
function testKey(p: ParsedOperator, k: KeyTest, ctx: Context, u: Unresolved): boolean {
  const present = ctx.get(k.key);
  const absent = present === undefined || (typeof present !== 'string' && present.length === 0);
  if (p.info.family === 'Null') {
    // "true": the key must be absent; "false": present.
    return k.values.some((v) => (v.raw.toLowerCase() === 'true' ? absent : v.raw.toLowerCase() === 'false' ? !absent : false));
  }
  const negated = p.info.negated;
  // …IfExists holds on an absent key whatever else the operator says.
  if (absent) return p.ifExists || (p.set === 'all' ? true : p.set === 'any' ? false : negated);
  // Negated operators: a request value passes when it matches none of the policy's values.
  if (typeof present === 'string') return anyValueMatches(p, k, present, ctx, u) !== negated;
  const values = present!;
  if (p.set === 'all' || (!p.set && negated)) {
    // ForAllValues, and a negated single-valued operator on a multivalued key: every value passes.
    for (const req of values) if (anyValueMatches(p, k, req, ctx, u) === negated) return false;
    return true;
  }
  // ForAnyValue, and a positive single-valued operator on a multivalued key: one value passes.
  for (const req of values) if (anyValueMatches(p, k, req, ctx, u) !== negated) return true;
  return false;
}

/** Whether every operator of the block holds. */
export function conditionHolds(c: CompiledCondition, ctx: Context, u: Unresolved): boolean {
  if (c.unknown) return false;
  for (const t of c.tests) {
    for (const k of t.keys) if (!testKey(t.op, k, ctx, u)) return false;
  }
  return true;
}
