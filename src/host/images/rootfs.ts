// Writing into a guest's root filesystem from the host without ever leaving it: a guest's symlinks
// (/sbin → usr/sbin, busybox's /sbin/init → /bin/busybox, or anything root in an instance made)
// are resolved as the guest would see them, inside the root, never against the host's /.
import { chmodSync, chownSync, lstatSync, mkdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';

const MAX_LINKS = 40;

/**
 * The host path of `guestPath` inside `root`, every symlink resolved inside the root as chroot
 * would ("/x" and "../../x" both stay in it). The last component is followed only if asked.
 */
export function resolveInRoot(root: string, guestPath: string, opts: { followLast?: boolean } = {}): string {
  let links = 0;
  const resolve = (parts: string[], followLast: boolean): string[] => {
    const out: string[] = [];
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (part === '' || part === '.') continue;
      if (part === '..') {
        out.pop();
        continue;
      }
      if (part.includes('\0')) throw new Error(`bad guest path ${JSON.stringify(guestPath)}`);
      const host = join(root, ...out, part);
      let link = false;
      try {
        link = lstatSync(host).isSymbolicLink();
      } catch {
        // missing: the caller makes it
      }
      if (link && (i < parts.length - 1 || followLast)) {
        if (++links > MAX_LINKS) throw new Error(`too many symlinks resolving ${guestPath} in ${root}`);
        const target = readlinkSync(host);
        const resolved = resolve([...(target.startsWith('/') ? [] : out), ...target.split('/')], true);
        out.splice(0, out.length, ...resolved);
      } else out.push(part);
    }
    return out;
  };
  return join(root, ...resolve(guestPath.split('/'), opts.followLast ?? false));
}

export interface FileSpec {
  content: string | Buffer;
  mode?: number;
  uid?: number;
  gid?: number;
}

/**
 * mkdir -p whose new folders are 0755 (what the guest expects of /var/lib, /usr/lib/…) whatever the
 * server's umask (0077: src/state-folder.ts); folders already there keep their mode.
 */
function makeDirs(host: string): void {
  const first = mkdirSync(host, { recursive: true });
  if (first === undefined) return;
  for (let d = host; ; d = dirname(d)) {
    chmodSync(d, 0o755);
    if (d === first || d === dirname(d)) break;
  }
}

/** Make the parent folders of a guest path (inside the root); the entry's host path, emptied. */
function prepare(root: string, guestPath: string): string {
  const norm = posix.normalize('/' + guestPath);
  const parent = resolveInRoot(root, posix.dirname(norm), { followLast: true });
  makeDirs(parent);
  const host = join(parent, posix.basename(norm));
  // Whatever is there (a symlink above all) is replaced, never written through.
  rmSync(host, { force: true });
  return host;
}

/** Write a file inside the guest root; an existing entry (even a symlink) is replaced. */
export function writeGuestFile(root: string, guestPath: string, spec: FileSpec | string): string {
  const s = typeof spec === 'string' ? { content: spec } : spec;
  const host = prepare(root, guestPath);
  writeFileSync(host, s.content, { flag: 'wx', mode: s.mode ?? 0o644 });
  chmodSync(host, s.mode ?? 0o644); // the umask does not apply
  if (s.uid !== undefined || s.gid !== undefined) chownSync(host, s.uid ?? 0, s.gid ?? 0);
  return host;
}

/** A symlink inside the guest root (target as the guest sees it); an existing entry is replaced. */
export function guestSymlink(root: string, guestPath: string, target: string): void {
  symlinkSync(target, prepare(root, guestPath));
}

/** A folder inside the guest root. */
export function guestDir(root: string, guestPath: string, mode = 0o755, owner?: { uid: number; gid: number }): string {
  const host = resolveInRoot(root, guestPath, { followLast: true });
  makeDirs(host);
  chmodSync(host, mode);
  if (owner) chownSync(host, owner.uid, owner.gid);
  return host;
}
