// IPv4 and IPv6 address and CIDR arithmetic for VPCs, subnets and security group rules.
// Addresses are bigints (32 or 128 bits). Parsing is strict: no surrounding or inner whitespace,
// no leading zeros in IPv4 octets or prefix lengths, no IPv6 zone identifiers.

export interface Cidr {
  family: 4 | 6;
  /** The network address: host bits are always zero. */
  network: bigint;
  prefix: number;
}

export interface Ip {
  family: 4 | 6;
  value: bigint;
}

const bitsOf = (family: 4 | 6) => (family === 4 ? 32 : 128);

/** The netmask of a prefix length, as a bigint of the family's width. */
function maskOf(family: 4 | 6, prefix: number): bigint {
  const bits = bitsOf(family);
  const all = (1n << BigInt(bits)) - 1n;
  return prefix === 0 ? 0n : (all >> BigInt(bits - prefix)) << BigInt(bits - prefix);
}

// ---------------------------------------------------------------------------------------------
// Addresses

const OCTET = /^(?:0|[1-9][0-9]{0,2})$/;
const HEXTET = /^[0-9A-Fa-f]{1,4}$/;

function parseIpv4(s: string): bigint | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!OCTET.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

/** Parses hextet groups, the last of which may be dotted IPv4 (worth two groups). */
function parseGroups(s: string, allowV4Tail: boolean): number[] | undefined {
  if (s === '') return [];
  const parts = s.split(':');
  const out: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (allowV4Tail && i === parts.length - 1 && p.includes('.')) {
      const v4 = parseIpv4(p);
      if (v4 === undefined) return undefined;
      out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
    } else {
      if (!HEXTET.test(p)) return undefined;
      out.push(parseInt(p, 16));
    }
  }
  return out;
}

function parseIpv6(s: string): bigint | undefined {
  if (s.length > 45) return undefined; // longest textual form: 6 hextets + dotted quad
  const halves = s.split('::');
  let groups: number[];
  if (halves.length === 1) {
    const g = parseGroups(s, true);
    if (!g || g.length !== 8) return undefined;
    groups = g;
  } else if (halves.length === 2) {
    const left = parseGroups(halves[0]!, false);
    const right = parseGroups(halves[1]!, true);
    if (!left || !right) return undefined;
    const missing = 8 - left.length - right.length;
    if (missing < 1) return undefined; // '::' stands for at least one group
    groups = [...left, ...new Array<number>(missing).fill(0), ...right];
  } else {
    return undefined; // more than one '::'
  }
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(g);
  return v;
}

/** Parses an IPv4 or IPv6 address. Returns undefined for anything not strictly valid. */
export function parseIp(s: string): Ip | undefined {
  if (typeof s !== 'string' || s.length === 0) return undefined;
  if (s.includes(':')) {
    const value = parseIpv6(s);
    return value === undefined ? undefined : { family: 6, value };
  }
  const value = parseIpv4(s);
  return value === undefined ? undefined : { family: 4, value };
}

/** Canonical text: dotted quad, or RFC 5952 IPv6 (lower case, longest zero run of 2+ groups as '::'). */
export function formatIp(family: 4 | 6, value: bigint): string {
  const max = (1n << BigInt(bitsOf(family))) - 1n;
  if (value < 0n || value > max) throw new RangeError(`address out of range for IPv${family}`);
  if (family === 4) {
    return [24n, 16n, 8n, 0n].map((sh) => String((value >> sh) & 0xffn)).join('.');
  }
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((value >> BigInt(i * 16)) & 0xffffn));
  // Longest run of zero groups (first one on a tie), compressed only when at least two long.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

// ---------------------------------------------------------------------------------------------
// CIDR blocks

const PREFIX = /^(?:0|[1-9][0-9]{0,2})$/;

function parseCidrParts(s: string): { ip: Ip; prefix: number } | undefined {
  if (typeof s !== 'string') return undefined;
  const slash = s.indexOf('/');
  if (slash < 0 || slash !== s.lastIndexOf('/')) return undefined;
  const ip = parseIp(s.slice(0, slash));
  const p = s.slice(slash + 1);
  if (!ip || !PREFIX.test(p)) return undefined;
  const prefix = Number(p);
  if (prefix > bitsOf(ip.family)) return undefined;
  return { ip, prefix };
}

/** For VPC and subnet blocks: host bits must be zero ('10.0.0.1/16' is undefined). */
export function parseCidrStrict(s: string): Cidr | undefined {
  const parts = parseCidrParts(s);
  if (!parts) return undefined;
  const { ip, prefix } = parts;
  if ((ip.value & ~maskOf(ip.family, prefix) & ((1n << BigInt(bitsOf(ip.family))) - 1n)) !== 0n) return undefined;
  return { family: ip.family, network: ip.value, prefix };
}

/** For security group rules: host bits are allowed and masked off ('10.0.0.1/16' is 10.0.0.0/16). */
export function parseCidrLoose(s: string): Cidr | undefined {
  const parts = parseCidrParts(s);
  if (!parts) return undefined;
  const { ip, prefix } = parts;
  return { family: ip.family, network: ip.value & maskOf(ip.family, prefix), prefix };
}

/** The same as parseCidrStrict; use parseCidrLoose where EC2 normalises host bits away. */
export const parseCidr = parseCidrStrict;

/** Canonical text ('10.0.0.0/16', '2001:db8::/32'). */
export function formatCidr(c: Cidr): string {
  return `${formatIp(c.family, c.network)}/${c.prefix}`;
}

/** True when every address of inner lies in outer (a block contains itself). */
export function contains(outer: Cidr, inner: Cidr): boolean {
  if (outer.family !== inner.family || outer.prefix > inner.prefix) return false;
  return (inner.network & maskOf(outer.family, outer.prefix)) === outer.network;
}

/** True when the blocks share at least one address. */
export function overlaps(a: Cidr, b: Cidr): boolean {
  return contains(a, b) || contains(b, a);
}

/** The number of addresses in the block. */
export function size(c: Cidr): bigint {
  return 1n << BigInt(bitsOf(c.family) - c.prefix);
}

/** The index-th address of the block (0 is the network address); RangeError outside the block. */
export function addressAt(c: Cidr, index: bigint): string {
  if (index < 0n || index >= size(c)) throw new RangeError(`index ${index} is outside ${formatCidr(c)}`);
  return formatIp(c.family, c.network + index);
}

/** True when ip parses and lies in c (an address of the other family never does). */
export function ipInCidr(ip: string, c: Cidr): boolean {
  const parsed = parseIp(ip);
  if (!parsed || parsed.family !== c.family) return false;
  return (parsed.value & maskOf(c.family, c.prefix)) === c.network;
}

const RFC1918: readonly Cidr[] = [
  { family: 4, network: 0x0a000000n, prefix: 8 }, // 10.0.0.0/8
  { family: 4, network: 0xac100000n, prefix: 12 }, // 172.16.0.0/12
  { family: 4, network: 0xc0a80000n, prefix: 16 }, // 192.168.0.0/16
];

/** True when the whole block lies within 10/8, 172.16/12 or 192.168/16. */
export function isRfc1918(c: Cidr): boolean {
  return RFC1918.some((r) => contains(r, c));
}

// ---------------------------------------------------------------------------------------------
// IPv4 as 32-bit numbers (the host's nft sets and uplink pool)

/** A strict dotted quad as a 32-bit number; throws on anything else. */
export function ipv4ToNumber(ip: string): number {
  const v = typeof ip === 'string' ? parseIpv4(ip) : undefined;
  if (v === undefined) throw new Error(`not an IPv4 address: ${ip}`);
  return Number(v);
}

/** A 32-bit number as a dotted quad. */
export function numberToIpv4(n: number): string {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}
