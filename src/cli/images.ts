// `cumulo images build [NAME]` and `cumulo images list`: the built-in images, ahead of first use.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config.js';
import { BUILD_STATUS_FILE, type BuildStatus } from '../controllers/builtin-images.js';
import { BuiltinImageStore } from '../host/images/builtin-store.js';
import { builtinImages } from '../services/ec2/images/builtin.js';
import { lockHolder } from '../state-lock.js';

/** What the running server of this state folder says of its builds (src/controllers/builtin-images.ts). */
function serverBuilds(home: string): Map<string, BuildStatus> {
  const pid = lockHolder(home);
  if (pid === undefined) return new Map();
  try {
    const f = JSON.parse(readFileSync(join(home, BUILD_STATUS_FILE), 'utf8')) as { pid: number; images: BuildStatus[] };
    return f.pid === pid ? new Map(f.images.map((s) => [s.name, s])) : new Map();
  } catch {
    return new Map();
  }
}

function describeBuild(s: BuildStatus): string {
  if (s.state === 'queued') return 'pending: queued for building by the server';
  if (s.state === 'failed') return `failed: ${s.error?.split('\n')[0] ?? 'the build failed'}`;
  const count = s.done !== undefined ? ` (${s.done}${s.total ? `/${s.total}` : ''})` : '';
  const since = s.startedAt ? `, ${Math.round((Date.now() - Date.parse(s.startedAt)) / 1000)} s so far` : '';
  return `pending: building: ${s.step ?? 'starting'}${count}${since}`;
}

/** minimal | debian | debian-12 | an AMI name (cumulo-minimal-x86_64-…, debian-12-amd64-…); none: all. */
export function selectImages(name: string | undefined): typeof builtinImages {
  if (!name) return builtinImages;
  const pick = builtinImages.filter((i) => i.name === name || i.source.builtin === name || (name === 'debian' && i.source.builtin === 'debian-12'));
  if (!pick.length) throw new Error(`no built-in image '${name}' (try: minimal, debian, ${builtinImages.map((i) => i.name).join(', ')})`);
  return pick;
}

export async function imagesCommand(config: Config, args: string[], out: (line: string) => void = (l) => console.log(l)): Promise<number> {
  const store = new BuiltinImageStore({ home: config.home });
  const [sub, name] = args;
  if (sub === 'list' || sub === undefined) {
    const builds = serverBuilds(config.home);
    for (const img of builtinImages) {
      const a = store.find(img.source);
      const b = builds.get(img.name);
      out(`${img.name}\t${a ? a.snapshotFile : b ? describeBuild(b) : 'not built'}`);
    }
    return 0;
  }
  if (sub !== 'build') return 2;
  for (const img of selectImages(name)) {
    const t0 = Date.now();
    let last = '';
    const a = await store.ensure(img.source, (e) => {
      // One line per step; a counted one (debootstrap's packages) every 25.
      if (e.step === last && e.done !== undefined && e.done % 25 !== 0) return;
      last = e.step;
      out(`cumulo images: ${e.step}${e.done !== undefined ? ` (${e.done}${e.total ? `/${e.total}` : ''})` : ''}`);
    });
    out(`cumulo images: ${img.name}: ${a.snapshotFile} (${a.sizeGiB} GiB, ssh user ${a.sshUser}, ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  }
  return 0;
}
