// What the Linux data plane leaves on the host, by its tag: the tests' leak check and what
// LinuxHostNetwork.close() sweeps; and the shared /run/netns the data plane's namespaces live in.
import { existsSync } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { ipShow, run } from './exec.js';
import { netnsPrefix, tableName, tagOfTable, uplinkPrefix, vethPrefix } from './names.js';

export interface Leftovers {
  netns: string[];
  links: string[];
  table: boolean;
  /** Host ip rules pointing at this server's routing tables. */
  rules: string[];
  /** Host routes in this server's tables or through its links. */
  routes: string[];
}

export const SYS_NET = '/sys/class/net';

/** Every namespace, link, table, rule and route of this tag: a leak check, and what close() removes. */
export async function leftovers(tag: string): Promise<Leftovers> {
  const netns = existsSync('/run/netns') ? (await readdir('/run/netns')).filter((n) => n.startsWith(netnsPrefix(tag))) : [];
  const links = (await readdir(SYS_NET)).filter((l) => l.startsWith(vethPrefix(tag)) || l.startsWith(uplinkPrefix(tag)));
  const tables = await run('nft', ['list', 'tables']);
  const out = (await ipShow(['rule show', 'route show table all'])).split('\n').filter((l) => l.trim());
  const rules = JSON.parse(out[0] ?? '[]') as { priority: number; src?: string; srclen?: number; table?: string }[];
  const routes = JSON.parse(out[1] ?? '[]') as { type?: string; dst: string; dev?: string; table?: string }[];
  const ours = (dev?: string) => !!dev && (dev.startsWith(vethPrefix(tag)) || dev.startsWith(uplinkPrefix(tag)));
  return {
    netns,
    links,
    table: tables.split('\n').some((l) => l.trim() === `table inet ${tableName(tag)}`),
    rules: rules
      .filter((r) => tagOfTable(Number(r.table)) === tag)
      .map((r) => `pref ${r.priority}${r.src && r.src !== 'all' ? ` from ${r.src}/${r.srclen ?? 32}` : ''} lookup ${r.table}`),
    routes: routes
      .filter((r) => tagOfTable(Number(r.table)) === tag || (r.table !== 'local' && ours(r.dev)))
      .map((r) => `${r.type && r.type !== 'unicast' ? `${r.type} ` : ''}${r.dst}${r.table ? ` table ${r.table}` : ''}${r.dev ? ` dev ${r.dev}` : ''}`),
  };
}

/**
 * /run/netns as `ip netns add` makes it on first use: a mount point of its own (a bind of itself),
 * shared. The driver mounts instances' namespaces there itself (made inside their user
 * namespaces); one mounted before the first `ip netns add` of the boot would be buried under the
 * bind that command then makes, out of reach of `ip netns del` for good. Under a lock, as
 * servers start together.
 */
export async function sharedNetnsDir(): Promise<void> {
  await mkdir('/run/netns', { recursive: true, mode: 0o755 });
  await run('flock', ['/run/netns', 'sh', '-c', 'mountpoint -q /run/netns || mount --bind /run/netns /run/netns; mount --make-shared /run/netns']);
}
