// Root in an instance is not root on the host. Each instance runs in its own user namespace that
// maps the guest's ids 0…65535 to its own range of host ids (uid_ranges in the store), and every
// namespace of the instance is owned by it, so the guest's capabilities reach only its own
// namespaces:
//
//   /run/cumulo/<tag>/<id>/userns  the user namespace, held by a bind mount of its nsfs file
//   /run/netns/cu-<tag>-<id>       its network namespace, made inside that user namespace (the
//                                  guest's root configures its own interfaces, binds port 22, opens
//                                  raw sockets, and reaches nothing beyond them)
//   /run/cumulo/<tag>/<id>/dev     its /dev: a tmpfs the host mounts and fills (device nodes in a
//                                  tmpfs mounted inside a user namespace cannot be opened), so a
//                                  volume attached live is a node the host makes here
//
// Its root filesystem (and instance store) are idmapped mounts through that user namespace: the
// guest's root owns them as the image's root did, and the bytes on disk keep the image's ids.
import { spawn, type ChildProcess } from 'node:child_process';
import { lchownSync } from 'node:fs';
import { lstat, mkdir, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { run } from './runtime.js';
import { splitDev } from '../../storage/devno.js';
import { readMounts, unmountTree } from '../../storage/mounts.js';

/** How many ids each instance maps: a whole 16-bit id space, as a machine has. */
export const GUEST_IDS = 65536;

export function checkBase(base: number): void {
  if (!Number.isInteger(base) || base < GUEST_IDS || base % GUEST_IDS !== 0 || base + GUEST_IDS > 2 ** 32 - 1) throw new Error(`bad uid range base ${base}`);
}

/** The mappings config.json carries (runc writes them into the user namespace it makes, or checks them). */
export function idMappings(base: number): { containerID: number; hostID: number; size: number }[] {
  checkBase(base);
  return [{ containerID: 0, hostID: base, size: GUEST_IDS }];
}

/**
 * Everything an instance's namespaces need from the host's root, in one process (a spawn costs
 * more than all of this work), in two phases so that the caller overlaps them with its own work:
 *   1. its user namespace and a network namespace inside it (held by bind mounts) and its /dev;
 *      `ready` resolves then (the network can go in while the root volume is being mounted);
 *   2. mapViews(): the idmapped views of its root (and instance store) through that user namespace
 *      (Linux 5.12+, mount_setattr with MOUNT_ATTR_IDMAP). An id k on disk is the host's base + k
 *      there, so the guest's root owns what root owned in the image while the disk keeps the
 *      image's own ids (snapshots and AMIs made from it are like any other); nothing is rewritten,
 *      whatever the size of the filesystem.
 * runc 1.1 cannot ask for idmapped mounts, nor can bookworm's mount (util-linux 2.38); perl
 * (essential on every Debian) makes the system calls. Each part is made only when it is missing,
 * so a prepare after a restart or a failure finishes what is left; the caller unwinds each part on
 * its own (releaseUserNetns, releaseDev, umount of the views).
 */
export function startInstanceSetup(o: { base: number; usernsFile: string; netnsFile: string; devDir: string }): {
  ready: Promise<void>;
  mapViews(views: { src: string; dst: string }[]): Promise<void>;
  /** The caller failed before mapViews: the process goes (it would wait for its input forever). */
  abort(): void;
} {
  checkBase(o.base);
  for (const p of [o.usernsFile, o.netnsFile, o.devDir]) checkPath(p);
  let mapViews!: (views: { src: string; dst: string }[]) => Promise<void>;
  let child: ChildProcess | undefined;
  const ready = (async () => {
    const mounted = new Set((await readMounts()).map((m) => m.mountPoint));
    const nsHeld = mounted.has(resolve(o.usernsFile)) && mounted.has(resolve(o.netnsFile));
    // Half of a pair (a crash between the two binds): both are made again.
    if (!nsHeld) {
      await releaseUserNetns(o);
      await mkdir(resolve(o.netnsFile, '..'), { recursive: true });
    }
    const devMade = !mounted.has(resolve(o.devDir));
    child = spawn('perl', ['-e', SETUP_PERL, o.usernsFile, String(o.base), nsHeld ? '-' : o.usernsFile, nsHeld ? '-' : o.netnsFile, devMade ? o.devDir : '-'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const proc = child;
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    proc.stdin!.on('error', () => undefined); // it died: its exit says why
    const exited = new Promise<number | null>((res, rej) => {
      proc.once('error', rej);
      proc.once('exit', (code) => res(code));
    });
    const failure = (code: number | null) => new Error(`instance setup failed (exit ${code}): ${err.trim() || 'no message'}`);
    mapViews = async (views) => {
      for (const v of views) for (const p of [v.src, v.dst]) checkPath(p);
      const todo = views.filter((v) => !mountedNow.has(resolve(v.dst)));
      proc.stdin!.end(todo.map((v) => `${v.src} ${v.dst}\n`).join(''));
      const code = await exited;
      if (code !== 0) throw failure(code);
    };
    const mountedNow = mounted;
    // Phase 1 is done when it says so (or it ended: then it failed, or there was nothing to make).
    await new Promise<void>((res, rej) => {
      const check = () => {
        if (out.includes('ready\n')) return res();
      };
      proc.stdout!.on('data', check);
      void exited.then((code) => (out.includes('ready\n') ? res() : rej(failure(code))), rej);
    });
  })();
  return {
    ready,
    mapViews: async (views) => {
      await ready;
      await mapViews(views);
    },
    abort: () => {
      if (child && child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

function checkPath(p: string): void {
  if (!/^\/[A-Za-z0-9._/-]+$/.test(p)) throw new Error(`bad path ${JSON.stringify(p)}`);
}

/**
 * The setup as a perl program (perl-base is essential on every Debian). Arguments: the user
 * namespace file (for the views), the range's base, then what to make, "-" for what is there:
 * user namespace file, network namespace file, /dev folder. It prints "ready" once they are
 * there, then reads lines of "mounted-source view" from its input until it ends, and makes each
 * view. x86_64 system calls: unshare 272 (CLONE_NEWUSER|CLONE_NEWNET), mount 165, mknod 133,
 * lchown 94, open_tree 428, mount_setattr 442, move_mount 429, close 3, exit 60 (no POSIX module:
 * loading it costs more than everything else here).
 */
export const SETUP_PERL = `
use strict;
my ($nsfile, $base, $userns, $netns, $dev) = @ARGV;
umask 0;
$| = 1;
my $empty = "";
sub sys_mount { my ($src, $dst, $type, $flags, $data) = @_; syscall(165, $src, $dst, $type, $flags, $data) == 0 or die "mount $dst: $!\\n"; }
sub own { my ($p) = @_; syscall(94, $p, $base + 0, $base + 0) == 0 or die "lchown $p: $!\\n"; }
if ($userns ne '-') {
  pipe(my $r1, my $w1) or die "pipe: $!\\n"; pipe(my $r2, my $w2) or die "pipe: $!\\n";
  my $pid = fork() // die "fork: $!\\n";
  if ($pid == 0) {
    close $w1; close $r2;
    if (syscall(272, 0x10000000 | 0x40000000) != 0) { syswrite($w2, "E"); syscall(60, 1); }
    syswrite($w2, "R"); sysread($r1, my $go, 1); syscall(60, 0);
  }
  close $r1; close $w2;
  my $st = ''; sysread($r2, $st, 1);
  die "unshare of a user and network namespace failed\\n" unless $st eq 'R';
  for my $m ('uid_map', 'gid_map') {
    open(my $f, '>', "/proc/$pid/$m") or die "$m: $!\\n"; print $f "0 $base 65536\\n"; close($f) or die "$m: $!\\n";
  }
  for my $pair (['user', $userns], ['net', $netns]) {
    my ($kind, $file) = @$pair;
    open(my $h, '>>', $file) or die "$file: $!\\n"; close $h;
    sys_mount("/proc/$pid/ns/$kind", $file, 0, 4096, 0);
  }
  syswrite($w1, "x"); waitpid($pid, 0);
}
if ($dev ne '-') {
  mkdir($dev, 0755) unless -d $dev;
  sys_mount("cumulo-dev", $dev, "tmpfs", 2 | 8, "mode=755,size=64k,nr_inodes=1024,uid=$base,gid=$base");
  for my $d ([null => 1, 3], [zero => 1, 5], [full => 1, 7], [random => 1, 8], [urandom => 1, 9], [tty => 5, 0]) {
    my ($name, $major, $minor) = @$d; my $p = "$dev/$name";
    syscall(133, $p, 0020000 | 0666, ($major << 8) | $minor) == 0 or die "mknod $p: $!\\n"; own($p);
  }
  for my $l ([ptmx => 'pts/ptmx'], [fd => '/proc/self/fd'], [stdin => '/proc/self/fd/0'], [stdout => '/proc/self/fd/1'], [stderr => '/proc/self/fd/2']) {
    my ($name, $target) = @$l; symlink($target, "$dev/$name") or die "symlink $name: $!\\n"; own("$dev/$name");
  }
  for my $d ('pts', 'shm', 'mqueue') { mkdir("$dev/$d", 0755) or die "mkdir $d: $!\\n"; own("$dev/$d"); }
}
print "ready\\n";
while (my $line = <STDIN>) {
  chomp $line; my ($src, $dst) = split / /, $line;
  mkdir($dst, 0755) unless -d $dst;
  my $fd = syscall(428, -100, $src, 0x1 | 0x80000); die "open_tree $src: $!\\n" if $fd < 0;
  open(my $ns, '<', $nsfile) or die "$nsfile: $!\\n";
  my $attr = pack('QQQQ', 0x100000, 0, 0, fileno($ns));
  syscall(442, $fd, $empty, 0x1000, $attr, length $attr) == 0 or die "mount_setattr $src: $!\\n";
  syscall(429, $fd, $empty, -100, $dst, 0x4) == 0 or die "move_mount $dst: $!\\n";
  syscall(3, $fd);
}
`;

/** Is something mounted at path (/proc/self/mountinfo)? */
export async function isMountPoint(path: string): Promise<boolean> {
  const at = resolve(path);
  return (await readMounts()).some((m) => m.mountPoint === at);
}

/** Let go of both namespaces (the kernel frees them once nothing else holds them). */
export async function releaseUserNetns(o: { usernsFile: string; netnsFile?: string }): Promise<void> {
  for (const f of [o.netnsFile, o.usernsFile]) {
    if (!f) continue;
    await unmountTree([f]);
    await rm(f, { force: true });
  }
}

/**
 * A device node at `path` (in the instance's /dev), owned by the guest's root. Whatever the guest
 * put under that name (a symlink to a host path above all) is removed first; nothing is followed.
 */
export async function makeNode(path: string, type: 'b' | 'c', dev: { major: number; minor: number }, mode: number, base: number): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const seen = await lstat(path, { bigint: true }).catch(() => undefined);
    if (seen) {
      const at = splitDev(seen.rdev);
      const same = (type === 'b' ? seen.isBlockDevice() : seen.isCharacterDevice()) && at.major === dev.major && at.minor === dev.minor;
      if (same && Number(seen.uid) === base) return;
      await rm(path, { force: true, recursive: seen.isDirectory() });
    }
    try {
      // The mode in mknod itself: a chmod afterwards would follow a symlink the guest put there since.
      await run('mknod', ['-m', mode.toString(8), path, type, String(dev.major), String(dev.minor)]);
    } catch (e) {
      // The guest made something there between the removal and mknod: again.
      if (attempt < 3) continue;
      throw e;
    }
    lchownSync(path, base, base); // lchown: never a symlink's target
    return;
  }
}

/** Unmount the instance's /dev (its nodes go with the tmpfs). */
export async function releaseDev(devDir: string): Promise<void> {
  await unmountTree([devDir]);
  await rm(devDir, { recursive: true, force: true });
}
