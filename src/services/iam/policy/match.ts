// Wildcards, policy variables and ARNs, as IAM matches them. Patterns are compiled once per
// policy string (compilePattern) and matched many times; the RegExps that depend on a request's
// variable values come from a bounded cache keyed by their source.
import type { ContextValue } from './types.js';

/** A piece of a pattern: literal text, a wildcard, or a policy variable (${key} / ${key, 'default'}). */
export type Token = { readonly t: 'lit'; readonly s: string } | { readonly t: 'star' } | { readonly t: 'q' } | { readonly t: 'var'; readonly key: string; readonly def?: string };

/** The request's condition keys, by lower-cased name (condition key names are case-insensitive). */
export type Context = ReadonlyMap<string, ContextValue>;

/** Set when a variable had no value and no default: the statement being evaluated does not apply. */
export interface Unresolved {
  unresolved: boolean;
}

// ---------------------------------------------------------------------------------------------
// Tokenising

const STAR: Token = { t: 'star' };
const Q: Token = { t: 'q' };
/** ${key} or ${key, 'default'}: the default quotes '' as one quote; spaces around key and default are ignored. */
const VARIABLE = /^\$\{\s*([^\s,}'$]+)\s*(?:,\s*'((?:[^']|'')*)'\s*)?\}/;

/**
 * Splits a policy string into tokens. With variables false (a 2008-10-17 document) `${…}` is
 * literal text. `${*}`, `${?}` and `${$}` are the literal characters; wildcards only with `wildcards`.
 */
export function tokenize(s: string, variables: boolean, wildcards: boolean): Token[] {
  const out: Token[] = [];
  let lit = '';
  const flush = () => {
    if (lit) out.push({ t: 'lit', s: lit });
    lit = '';
  };
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (variables && c === '$' && s[i + 1] === '{') {
      const esc = s.slice(i, i + 4);
      if (esc === '${*}' || esc === '${?}' || esc === '${$}') {
        lit += esc[2];
        i += 3;
        continue;
      }
      const m = VARIABLE.exec(s.slice(i));
      if (m) {
        flush();
        out.push({ t: 'var', key: m[1]!.toLowerCase(), ...(m[2] !== undefined && { def: m[2].replace(/''/g, "'") }) });
        i += m[0].length - 1;
        continue;
      }
    }
    if (wildcards && (c === '*' || c === '?')) {
      flush();
      out.push(c === '*' ? STAR : Q);
      continue;
    }
    lit += c;
  }
  flush();
  return out;
}

/** A variable's value: single-valued keys only (a multivalued key cannot be substituted). */
export function variableValue(tok: Extract<Token, { t: 'var' }>, ctx: Context, u: Unresolved): string {
  const v = ctx.get(tok.key);
  if (typeof v === 'string') return v;
  if (tok.def !== undefined) return tok.def;
  u.unresolved = true;
  return '';
}

/** The tokens as a plain string (String* operators without wildcards): variables substituted, wildcards literal. */
export function render(tokens: readonly Token[], ctx: Context, u: Unresolved): string {
  let s = '';
  for (const tok of tokens) s += tok.t === 'lit' ? tok.s : tok.t === 'star' ? '*' : tok.t === 'q' ? '?' : variableValue(tok, ctx, u);
  return s;
}

// ---------------------------------------------------------------------------------------------
// Glob matching

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

function sourceOf(tokens: readonly Token[], ctx: Context | undefined, u: Unresolved | undefined): string {
  let src = '';
  for (const tok of tokens) {
    if (tok.t === 'lit') src += escapeRe(tok.s);
    else if (tok.t === 'star') src += '.*';
    else if (tok.t === 'q') src += '.';
    else src += escapeRe(variableValue(tok, ctx!, u!));
  }
  return src;
}

const CACHE_MAX = 4096;
const regexCache = new Map<string, RegExp>();

/** A RegExp for an anchored source (and flags), from a bounded cache: cleared when full, as patterns are few. */
function cachedRegExp(src: string, ignoreCase: boolean): RegExp {
  const key = (ignoreCase ? 'i' : 's') + src;
  let re = regexCache.get(key);
  if (!re) {
    if (regexCache.size >= CACHE_MAX) regexCache.clear();
    re = new RegExp(`^${src}$`, ignoreCase ? 'is' : 's');
    regexCache.set(key, re);
  }
  return re;
}

/** One compiled glob: an exact string, everything, a fixed RegExp, or tokens with variables. */
export interface Glob {
  readonly kind: 'exact' | 'any' | 'regex' | 'vars';
  readonly exact?: string;
  readonly re?: RegExp;
  readonly tokens?: readonly Token[];
  /** Variables but no wildcards: compared as a string, no RegExp needed. */
  readonly plain?: boolean;
  readonly ignoreCase: boolean;
}

/** Compiles tokens into a matcher; ignoreCase for actions and the *IgnoreCase operators. */
export function compileGlob(tokens: readonly Token[], ignoreCase: boolean): Glob {
  if (tokens.some((t) => t.t === 'var')) return { kind: 'vars', tokens, ignoreCase, plain: tokens.every((t) => t.t === 'lit' || t.t === 'var') };
  if (tokens.length === 1 && tokens[0]!.t === 'star') return { kind: 'any', ignoreCase };
  if (tokens.every((t) => t.t === 'lit')) {
    const s = tokens.map((t) => (t as { s: string }).s).join('');
    return { kind: 'exact', exact: ignoreCase ? s.toLowerCase() : s, ignoreCase };
  }
  return { kind: 'regex', re: cachedRegExp(sourceOf(tokens, undefined, undefined), ignoreCase), ignoreCase };
}

/** Whether value matches the glob; for ignoreCase globs of kind 'exact', value must be lower-cased already. */
export function globMatch(g: Glob, value: string, ctx: Context, u: Unresolved): boolean {
  switch (g.kind) {
    case 'any':
      return true;
    case 'exact':
      return g.exact === value;
    case 'regex':
      return g.re!.test(value);
    default: {
      if (g.plain) {
        const want = render(g.tokens!, ctx, u);
        return g.ignoreCase ? want.toLowerCase() === value.toLowerCase() : want === value;
      }
      const src = sourceOf(g.tokens!, ctx, u);
      return cachedRegExp(src, g.ignoreCase).test(value);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// ARNs: each of the first five colon-separated parts is matched on its own (a wildcard never
// crosses a colon there); the sixth, the resource, runs to the end and may hold colons.

/** Splits an ARN into its six parts, or undefined when it has fewer. */
export function splitArn(arn: string): string[] | undefined {
  const parts: string[] = [];
  let from = 0;
  for (let i = 0; i < 5; i++) {
    const at = arn.indexOf(':', from);
    if (at < 0) return undefined;
    parts.push(arn.slice(from, at));
    from = at + 1;
  }
  parts.push(arn.slice(from));
  return parts;
}

/** Splits tokens at the first five colons of their literal text (a variable's value never splits). */
function splitTokens(tokens: readonly Token[]): Token[][] {
  const segs: Token[][] = [[]];
  for (const tok of tokens) {
    if (tok.t !== 'lit' || segs.length === 6) {
      segs[segs.length - 1]!.push(tok);
      continue;
    }
    let rest = tok.s;
    let at: number;
    while (segs.length < 6 && (at = rest.indexOf(':')) >= 0) {
      if (at > 0) segs[segs.length - 1]!.push({ t: 'lit', s: rest.slice(0, at) });
      segs.push([]);
      rest = rest.slice(at + 1);
    }
    if (rest) segs[segs.length - 1]!.push({ t: 'lit', s: rest });
  }
  return segs;
}

/** A compiled resource or ARN pattern: its colon-separated parts, each matched on its own. */
export interface ArnPattern {
  readonly any: boolean;
  readonly parts: readonly Glob[];
  /** The whole pattern as one glob, for a request resource that is not an ARN (such as '*'). */
  readonly whole: Glob;
}

export function compileArnPattern(tokens: readonly Token[]): ArnPattern {
  const whole = compileGlob(tokens, false);
  return { any: whole.kind === 'any', whole, parts: splitTokens(tokens).map((s) => compileGlob(s, false)) };
}

/** Whether the request's resource (whole, and split when it is an ARN) matches the pattern. Case-sensitive, as ARNs are. */
export function arnMatch(p: ArnPattern, value: string, split: readonly string[] | undefined, ctx: Context, u: Unresolved): boolean {
  if (p.any) return true;
  // '*' as the request's resource (an action without resource-level permissions) is matched only
  // by patterns that match the literal '*'; an ARN pattern never does.
  if (!split) return globMatch(p.whole, value, ctx, u);
  const n = p.parts.length;
  for (let i = 0; i < n - 1; i++) if (!globMatch(p.parts[i]!, split[i]!, ctx, u)) return false;
  // A pattern of fewer than six parts: its last part matches the rest of the ARN, colons and all.
  return globMatch(p.parts[n - 1]!, n === 6 ? split[5]! : split.slice(n - 1).join(':'), ctx, u);
}
