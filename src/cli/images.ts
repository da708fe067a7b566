// `cumulo images build [NAME]` and `cumulo images list`: the built-in images, ahead of first use.
import type { Config } from '../config.js';
import { BuiltinImageStore } from '../host/images/builtin-store.js';
import { builtinImages } from '../services/ec2/images/builtin.js';

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
  if (sub === 'list') {
    for (const img of builtinImages) {
      const a = store.find(img.source);
      out(`${img.name}\t${a ? a.snapshotFile : 'not built'}`);
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
