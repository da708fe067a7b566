// The nftables rules of instance networking, built as text by pure functions (table-tested in
// nft.test.ts). One table per cumulo server, `inet cumulo_<tag>`:
//
//   prerouting_nat  instance → 169.254.169.254:80 is redirected to the metadata service's port
//   prerouting      anti-spoofing (strict reverse path, whatever the rp_filter sysctls say);
//                   each packet from an instance is marked with its VPC (map vpc_of)
//   forward         instance ↔ instance of the same VPC only (set vpc_members: oif . mark);
//                   nothing is forwarded between instances and any other interface
//   input           from instances: the metadata port, ping, replies; nothing else reaches the host.
//                   The metadata port is closed to every other interface but loopback
//   output          metadata answers leave with IP TTL = the instance's hop limit (vmap hop_limit
//                   → chain ttl_<n>: `ip ttl set` cannot take a map lookup in nft 1.0)
//
// Per-instance facts live in the sets and maps; init() rewrites the chains without touching them,
// so running instances keep their elements across a server restart.
import { createHash } from 'node:crypto';

export const METADATA_ADDRESS = '169.254.169.254';
export const MAX_HOP_LIMIT = 64;

export interface TableOptions {
  table: string;
  /** Interface name pattern of the host ends of instance veths, e.g. `cuab12*`. */
  vethPattern: string;
  imdsPort: number;
}

const CHAINS = ['prerouting_nat', 'prerouting', 'forward', 'input', 'output'] as const;

function ttlChains(): string[] {
  return Array.from({ length: MAX_HOP_LIMIT }, (_, i) => `ttl_${i + 1}`);
}

/** The whole table as one transaction: declare (a no-op for what exists), flush the chains, fill them. */
export function tableScript(o: TableOptions): string {
  const t = o.table;
  const v = JSON.stringify(o.vethPattern);
  const p = o.imdsPort;
  const lines: string[] = [
    `table inet ${t} {`,
    `  map vpc_of { typeof iifname : meta mark; }`,
    `  set vpc_members { typeof oifname . meta mark; }`,
    `  map hop_limit { typeof oifname : verdict; }`,
    ...ttlChains().map((c) => `  chain ${c} { }`),
    `  chain prerouting_nat { type nat hook prerouting priority dstnat; policy accept; }`,
    `  chain prerouting { type filter hook prerouting priority mangle; policy accept; }`,
    `  chain forward { type filter hook forward priority filter; policy accept; }`,
    `  chain input { type filter hook input priority filter; policy accept; }`,
    `  chain output { type filter hook output priority filter; policy accept; }`,
    `}`,
    ...[...ttlChains(), ...CHAINS].map((c) => `flush chain inet ${t} ${c}`),
    `table inet ${t} {`,
    ...ttlChains().map((c, i) => `  chain ${c} {\n    ip ttl set ${i + 1}\n  }`),
    `  chain prerouting_nat {`,
    `    iifname ${v} ip daddr ${METADATA_ADDRESS} tcp dport 80 redirect to :${p}`,
    `  }`,
    `  chain prerouting {`,
    `    iifname ${v} meta nfproto ipv6 drop`,
    `    iifname ${v} fib saddr . iif oif missing drop`,
    `    iifname ${v} meta mark set iifname map @vpc_of`,
    `  }`,
    `  chain forward {`,
    `    iifname ${v} oifname ${v} oifname . meta mark @vpc_members accept`,
    `    iifname ${v} drop`,
    `    oifname ${v} drop`,
    `  }`,
    `  chain input {`,
    `    iifname ${v} ct state established,related accept`,
    `    iifname ${v} tcp dport ${p} accept`,
    `    iifname ${v} icmp type echo-request accept`,
    `    iifname ${v} drop`,
    `    tcp dport ${p} iifname != "lo" drop`,
    `  }`,
    `  chain output {`,
    `    oifname ${v} tcp sport ${p} oifname vmap @hop_limit`,
    `  }`,
    `}`,
  ];
  return lines.join('\n') + '\n';
}

/** What the table holds for one instance. */
export interface InstanceElements {
  /** The VPC's mark: instances with the same mark can talk. */
  mark: number;
  hopLimit: number;
}

/** A VPC's packet mark: 32 bits of a hash of its id, never 0 (0 is "no VPC"). */
export function vpcMark(vpcId: string | undefined): number {
  if (!vpcId) return 1;
  const n = createHash('sha256').update(vpcId).digest().readUInt32BE(0);
  return n === 0 ? 1 : n;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

function elementLines(verb: 'add' | 'delete', table: string, veth: string, e: InstanceElements): string[] {
  const name = JSON.stringify(veth);
  const ttl = verb === 'add' ? ` : jump ttl_${e.hopLimit}` : '';
  const mark = verb === 'add' ? ` : ${hex(e.mark)}` : '';
  return [
    `${verb} element inet ${table} vpc_of { ${name}${mark} }`,
    `${verb} element inet ${table} vpc_members { ${name} . ${hex(e.mark)} }`,
    `${verb} element inet ${table} hop_limit { ${name}${ttl} }`,
  ];
}

/**
 * The transaction that takes one instance's elements from `before` (what the table holds now) to
 * `after` (undefined: none). Empty when nothing changes. nft 1.0.6 has no `destroy`, and `add` of a
 * key with another value fails, so the old elements are deleted by their exact value first.
 */
export function elementScript(table: string, veth: string, before: InstanceElements | undefined, after: InstanceElements | undefined): string {
  if (before && after && before.mark === after.mark && before.hopLimit === after.hopLimit) return '';
  const lines = [...(before ? elementLines('delete', table, veth, before) : []), ...(after ? elementLines('add', table, veth, after) : [])];
  return lines.length ? lines.join('\n') + '\n' : '';
}

/**
 * The per-instance elements of the table from `nft -j list table inet <t>`, by veth. Only an
 * instance with all three elements counts as complete; others are returned with what is known so
 * that the next transaction deletes exactly what is there.
 */
export function parseElements(json: string): Map<string, Partial<InstanceElements> & { members?: number[] }> {
  const out = new Map<string, Partial<InstanceElements> & { members?: number[] }>();
  const get = (veth: string) => {
    let e = out.get(veth);
    if (!e) out.set(veth, (e = {}));
    return e;
  };
  const doc = JSON.parse(json) as { nftables?: Record<string, unknown>[] };
  for (const item of doc.nftables ?? []) {
    const set = (item.map ?? item.set) as { name?: string; elem?: unknown[] } | undefined;
    if (!set?.elem) continue;
    for (const el of set.elem) {
      if (set.name === 'vpc_of' && Array.isArray(el) && typeof el[0] === 'string' && typeof el[1] === 'number') get(el[0]).mark = el[1];
      else if (set.name === 'hop_limit' && Array.isArray(el) && typeof el[0] === 'string') {
        const target = (el[1] as { jump?: { target?: string } })?.jump?.target;
        const m = target ? /^ttl_(\d+)$/.exec(target) : null;
        if (m) get(el[0]).hopLimit = Number(m[1]);
      } else if (set.name === 'vpc_members') {
        const c = (el as { concat?: unknown[] })?.concat;
        if (Array.isArray(c) && typeof c[0] === 'string' && typeof c[1] === 'number') (get(c[0]).members ??= []).push(c[1]);
      }
    }
  }
  return out;
}

/** Deletes whatever parseElements found for one veth (a repair after a cache mismatch). */
export function deleteFoundScript(table: string, veth: string, found: Partial<InstanceElements> & { members?: number[] }): string {
  const name = JSON.stringify(veth);
  const lines: string[] = [];
  if (found.mark !== undefined) lines.push(`delete element inet ${table} vpc_of { ${name} }`);
  for (const m of found.members ?? []) lines.push(`delete element inet ${table} vpc_members { ${name} . ${hex(m)} }`);
  if (found.hopLimit !== undefined) lines.push(`delete element inet ${table} hop_limit { ${name} }`);
  return lines.length ? lines.join('\n') + '\n' : '';
}
