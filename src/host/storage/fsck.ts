// The host never mounts a filesystem a tenant wrote without checking it first, and it checks it
// without trusting it: e2fsck parses hostile bytes, so it runs in a sandbox.
//
//   unshare      its own network (no interface but a down lo), IPC, UTS, PID, cgroup and mount namespaces
//   sh (root)    inside them, a root of its own: a tmpfs holding /usr (bound read-only, with the
//                /bin, /lib… links of a merged /usr), /dev/null and one device node, /tmp/disk,
//                for the volume (0444, or 0666 when repairing); no /etc, /proc, /sys, /home, /var,
//                nor the state folder; then it chroots and execs
//   prlimit      address space, CPU seconds, open files, no core dumps
//   setpriv      uid and gid 65534, no supplementary groups, no capabilities (bounding set
//                emptied: it cannot leave the chroot), no_new_privs
//   e2fsck       reads /tmp/disk, the only disk it can open
//
// The image is never opened by path in the sandbox. The parent opens it, puts a loop device over
// that open file (read-only unless repairing), holds the loop open and detaches it at once (the
// kernel frees it at the last close: nothing is left behind, even by a killed server), and names
// the loop by major:minor. Handing e2fsck the image's own fd (/proc/self/fd/3) is not enough:
// opening that magic link checks the inode's permissions again, and a 0600 volume file or a FUSE
// plaintext export refuses uid 65534. The node in the sandbox's own tmpfs is what it may open.
//
// A whole run takes some 20–40 ms beyond e2fsck itself. The command is killed (its process group,
// and with unshare's PID 1 the whole namespace) when it runs past the timeout.
import { open, type FileHandle } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { exec, CommandError } from '../exec.js';
import { detachLoop, loopsOf } from './loop.js';
import { run } from './exec.js';
import { parseDevNo, splitDev, type DevNo } from './devno.js';
import { readMounts } from './mounts.js';

/** The uid and gid of the sandbox (nobody, nogroup). */
export const NOBODY = 65534;
/** Where the sandboxed command finds the volume. */
export const SANDBOX_DEVICE = '/tmp/disk';
/** Printed on stderr by the sandbox right before it execs the command (as 65534): it really started. */
export const SANDBOX_READY = 'cumulo-sandbox: ready';

export interface SandboxOptions {
  /** Address-space limit (default 1024 MiB; e2fsck of an empty 200 GiB filesystem runs in 64, not in 16). */
  memoryMiB?: number;
  /** CPU-time limit in seconds (default: the timeout's, rounded up). */
  cpuSeconds?: number;
  /** The block device to expose at SANDBOX_DEVICE, writable or not. */
  device?: { major: number; minor: number; writable: boolean };
  uid?: number;
  gid?: number;
}

export interface RunOptions extends SandboxOptions {
  /** Wall-clock limit (default 60 s): then the whole sandbox is killed. */
  timeoutMs?: number;
  /** stdout and stderr kept, each (default 64 KiB). */
  maxOutputBytes?: number;
}

export interface FsckOptions extends Omit<RunOptions, 'device'> {
  /**
   * e2fsck -fp instead of -fn: replay the journal, clear orphan inodes and fix what is safe to fix
   * without a question, writing to the filesystem; what needs a decision fails. A snapshot of a
   * mounted filesystem (CreateImage of a running instance) has orphans and often a journal to
   * replay, which a read-only check reports as errors.
   */
  repair?: boolean;
}

export const FSCK_DEFAULTS = { timeoutMs: 60_000, memoryMiB: 1024, maxOutputBytes: 64 * 1024 } as const;

/**
 * Runs as root inside the new namespaces ($1 the device, major:minor or -; $2 its mode; then the
 * command): makes the sandbox's root on the private /tmp of its mount namespace, and chroots into it.
 */
export const SANDBOX_SETUP = [
  'set -e',
  // The server's own umask (077: its state folder is private) would shut the sandbox's user out of
  // /dev and its nodes.
  'umask 022',
  'dev=$1 mode=$2',
  'shift 2',
  'mount -t tmpfs -o size=64k,mode=0755,nosuid,noexec cumulo-sandbox /tmp',
  'cd /tmp',
  'mkdir dev tmp usr',
  'mount --bind -o ro,nosuid,nodev /usr usr',
  'links=',
  'for d in bin sbin lib lib32 lib64 libx32; do',
  '  if [ -L "/$d" ]; then links="$links /$d"',
  '  elif [ -d "/$d" ]; then mkdir "$d"; mount --bind -o ro,nosuid,nodev "/$d" "$d"',
  '  fi',
  'done',
  '[ -z "$links" ] || cp -P $links .',
  'mknod -m 0666 dev/null c 1 3',
  `[ "$dev" = - ] || mknod -m "$mode" .${SANDBOX_DEVICE} b "\${dev%:*}" "\${dev#*:}"`,
  'exec chroot . "$@"',
].join('\n');

/** Runs as the unprivileged user: says it got there, then becomes the command. */
const ANNOUNCE = `echo '${SANDBOX_READY}' >&2; exec "$@"`;

/** The argv that runs command in the sandbox (pure: the whole sandbox is this list). */
export function sandboxArgv(command: string[], o: SandboxOptions & { timeoutMs?: number } = {}): string[] {
  if (!command.length) throw new Error('sandboxArgv: no command');
  const uid = o.uid ?? NOBODY;
  const gid = o.gid ?? NOBODY;
  if (uid === 0 || gid === 0) throw new Error('the sandbox never runs as root');
  const memory = o.memoryMiB ?? FSCK_DEFAULTS.memoryMiB;
  const cpu = o.cpuSeconds ?? Math.ceil((o.timeoutMs ?? FSCK_DEFAULTS.timeoutMs) / 1000);
  if (!(memory > 0) || !(cpu > 0)) throw new Error(`sandbox limits must be positive (memory ${memory} MiB, cpu ${cpu} s)`);
  const dev = o.device ? `${o.device.major}:${o.device.minor}` : '-';
  // Root's node, which only the sandbox's own mount namespace can see: not the sandbox's to chmod.
  const mode = o.device?.writable ? '0666' : '0444';
  return [
    'unshare',
    '--net',
    '--ipc',
    '--uts',
    '--pid',
    '--cgroup',
    '--mount',
    '--fork',
    '--kill-child',
    '--',
    'sh',
    '-c',
    SANDBOX_SETUP,
    'cumulo-sandbox',
    dev,
    mode,
    'prlimit',
    `--as=${Math.floor(memory * 2 ** 20)}`,
    `--cpu=${Math.ceil(cpu)}`,
    '--core=0',
    '--nofile=64',
    '--',
    'setpriv',
    `--reuid=${uid}`,
    `--regid=${gid}`,
    '--clear-groups',
    '--no-new-privs',
    '--bounding-set=-all',
    '--inh-caps=-all',
    '--',
    'sh',
    '-c',
    ANNOUNCE,
    'cumulo-sandboxed',
    ...command,
  ];
}

/** e2fsck's argv for SANDBOX_DEVICE: a full check, read-only or preening. */
export function e2fsckArgv(repair: boolean): string[] {
  return ['e2fsck', repair ? '-fp' : '-fn', SANDBOX_DEVICE];
}

/** How a sandboxed command ended. */
export interface SandboxRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** The sandbox reached the command (SANDBOX_READY was printed, and is taken out of stderr). */
  started: boolean;
  stdout: string;
  stderr: string;
}

/** Run command in the sandbox. Never rejects for the command's own exit code, signal or timeout. */
export async function runSandboxed(command: string[], o: RunOptions = {}): Promise<SandboxRun> {
  const timeoutMs = o.timeoutMs ?? FSCK_DEFAULTS.timeoutMs;
  const [cmd, ...args] = sandboxArgv(command, { ...o, timeoutMs });
  let r: Omit<SandboxRun, 'started'>;
  try {
    const x = await exec(cmd!, args, {
      okCodes: Array.from({ length: 256 }, (_, i) => i),
      timeoutMs,
      maxOutputBytes: o.maxOutputBytes ?? FSCK_DEFAULTS.maxOutputBytes,
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' },
    });
    r = { code: x.code, signal: null, timedOut: false, stdout: x.stdout, stderr: x.stderr };
  } catch (e) {
    if (!(e instanceof CommandError)) throw e;
    r = { code: e.code, signal: e.signal, timedOut: e.timedOut, stdout: e.stdout, stderr: e.stderr };
  }
  const lines = r.stderr.split('\n');
  const at = lines.indexOf(SANDBOX_READY);
  return { ...r, started: at >= 0, stderr: at >= 0 ? [...lines.slice(0, at), ...lines.slice(at + 1)].join('\n') : r.stderr };
}

/** What a check says: clean (or cleaned), or why not. */
export type FsckVerdict = { ok: true; code: number; output: string } | { ok: false; reason: string; code?: number; output: string };
/** A verdict and how long it took (ms, sandbox and loop device included). */
export type FsckResult = FsckVerdict & { ms: number };

/**
 * A full e2fsck of the ext2/3/4 filesystem in an image file or block device, in the sandbox. Not
 * ext4 at all, or with features the host does not support: refused before any tool reads it.
 * Rejects only when the host could not run the check (no sandbox, no e2fsck): that is not the
 * filesystem's fault.
 */
export async function checkFilesystem(path: string, opts: FsckOptions = {}): Promise<FsckResult> {
  const t0 = performance.now();
  const repair = opts.repair === true;
  const r = await runOnDevice(path, repair, e2fsckArgv(repair), opts);
  const ms = Math.round(performance.now() - t0);
  if ('refused' in r) return { ok: false, reason: r.refused, output: '', ms };
  return { ...fsckVerdict(r, { repair, timeoutMs: opts.timeoutMs ?? FSCK_DEFAULTS.timeoutMs, memoryMiB: opts.memoryMiB ?? FSCK_DEFAULTS.memoryMiB }), ms };
}

/**
 * Grow the ext4 in path to the size of its device (resize2fs, in the sandbox, writing). Only for a
 * filesystem that has just passed checkFilesystem with repair (resize2fs wants one checked since
 * it was last mounted).
 */
export async function growFilesystem(path: string, opts: Omit<FsckOptions, 'repair'> = {}): Promise<FsckResult> {
  const t0 = performance.now();
  const r = await runOnDevice(path, true, ['resize2fs', SANDBOX_DEVICE], opts);
  const ms = Math.round(performance.now() - t0);
  if ('refused' in r) return { ok: false, reason: r.refused, output: '', ms };
  const output = `${r.stdout}${r.stderr}`;
  const limits = { timeoutMs: opts.timeoutMs ?? FSCK_DEFAULTS.timeoutMs, memoryMiB: opts.memoryMiB ?? FSCK_DEFAULTS.memoryMiB };
  const killed = killedReason('resize2fs', r, limits);
  if (killed) return { ok: false, reason: killed, code: r.code ?? undefined, output, ms };
  if (r.code === 0) return { ok: true, code: 0, output, ms };
  return { ok: false, reason: `resize2fs failed (exit ${r.code}): ${summary(output)}`, code: r.code ?? undefined, output, ms };
}

/**
 * command in the sandbox with path's device at SANDBOX_DEVICE (writable or not), or why path was
 * refused before any tool read it. Rejects when the sandbox or the command could not start.
 */
export async function runOnDevice(path: string, writable: boolean, command: string[], opts: RunOptions = {}): Promise<SandboxRun | { refused: string }> {
  let fh: FileHandle;
  try {
    fh = await open(path, writable ? 'r+' : 'r');
  } catch (e) {
    throw new Error(`cannot open ${path} for a filesystem check: ${(e as Error).message}`);
  }
  let hold: FileHandle | undefined;
  let loopName: string | undefined;
  let backing: string | undefined;
  try {
    const st = await fh.stat();
    if (!st.isFile() && !st.isBlockDevice()) return { refused: `${path} is neither a file nor a block device` };
    const sb = Buffer.alloc(1024);
    const { bytesRead } = await fh.read(sb, 0, 1024, 1024);
    const problem = superblockProblem(sb.subarray(0, bytesRead));
    if (problem) return { refused: problem };
    // Repairing what the kernel has mounted (or may mount) would corrupt it: refused, whoever asked.
    if (writable && st.isFile() && (await loopsOf(path)).length) throw new Error(`${path} is in use by a loop device: it cannot be repaired`);
    if (writable && st.isBlockDevice() && (await isMounted(splitDev(st.rdev)))) throw new Error(`${path} is mounted: it cannot be repaired`);
    let device: { major: number; minor: number };
    if (st.isFile()) {
      // A loop over the very file opened above (no second lookup of the path), held open by
      // this process and detached at once: the kernel frees it when the check's last fd closes.
      const loop = (await run('losetup', ['--find', '--show', ...(writable ? [] : ['--read-only']), `/proc/${process.pid}/fd/${fh.fd}`])).stdout.trim();
      loopName = loop.replace('/dev/', '');
      backing = readSys(`/sys/block/${loopName}/loop/backing_file`);
      hold = await open(loop, writable ? 'r+' : 'r');
      await detachLoop(loop);
      device = parseDevNo(readFileSync(`/sys/block/${loopName}/dev`, 'utf8'));
    } else {
      device = splitDev(st.rdev);
    }
    const r = await runSandboxed(command, { ...opts, device: { ...device, writable } });
    if (!r.started && !r.timedOut) throw new Error(`the filesystem check sandbox did not start: ${summary(`${r.stderr}${r.stdout}`) || `exit ${r.code ?? r.signal}`}`);
    if (r.code === 126 || r.code === 127) throw new Error(`${command[0]} could not run in the sandbox: ${summary(r.stderr)}`);
    return r;
  } finally {
    await hold?.close();
    await fh.close();
    if (loopName) {
      // Never set to clear itself (a step above failed): detached now.
      if (backing !== undefined && readSys(`/sys/block/${loopName}/loop/backing_file`) === backing) await detachLoop(`/dev/${loopName}`).catch(() => undefined);
      // Gone at the last close (at once, here): made sure of, so that no one takes it for the volume's own loop.
      await unbound(loopName, backing);
    }
  }
}

async function isMounted(d: DevNo): Promise<boolean> {
  return (await readMounts()).some((m) => m.devNo === `${d.major}:${d.minor}`);
}

function readSys(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Until loop device name no longer serves backing (cleared, or bound anew to something else). */
async function unbound(name: string, backing: string | undefined, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (readSys(`/sys/block/${name}/loop/backing_file`) === backing && backing !== undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

// The ext4 superblock (at byte 1024 of the device): fields used to refuse before any tool reads it.
const MAGIC = 0x38;
const LOG_BLOCK_SIZE = 0x18;
const REV_LEVEL = 0x4c;
const FEATURE_INCOMPAT = 0x60;
const FEATURE_RO_COMPAT = 0x64;

/** Incompatible features: the kernel refuses a filesystem with one it does not know. */
const INCOMPAT: Record<number, { name: string; ok: boolean; why?: string }> = {
  0x1: { name: 'compression', ok: false },
  0x2: { name: 'filetype', ok: true },
  0x4: { name: 'needs_recovery', ok: true },
  0x8: { name: 'journal_dev', ok: false, why: 'an external journal device, not a filesystem' },
  0x10: { name: 'meta_bg', ok: true },
  0x40: { name: 'extent', ok: true },
  0x80: { name: '64bit', ok: true },
  // MMP makes e2fsck and mount sleep up to twice its update interval (minutes), on purpose.
  0x100: { name: 'mmp', ok: false, why: 'multi-mount protection (mmp) is not supported on volumes the host mounts' },
  0x200: { name: 'flex_bg', ok: true },
  0x400: { name: 'ea_inode', ok: true },
  0x1000: { name: 'dirdata', ok: false },
  0x2000: { name: 'metadata_csum_seed', ok: true },
  0x4000: { name: 'large_dir', ok: true },
  0x8000: { name: 'inline_data', ok: true },
  0x10000: { name: 'encrypt', ok: true },
  0x20000: { name: 'casefold', ok: true },
};

/** Read-only-compatible features: one the kernel does not know allows a read-only mount only; a root must be writable. */
const RO_COMPAT: Record<number, { name: string; ok: boolean; why?: string }> = {
  0x1: { name: 'sparse_super', ok: true },
  0x2: { name: 'large_file', ok: true },
  0x4: { name: 'btree_dir', ok: false },
  0x8: { name: 'huge_file', ok: true },
  0x10: { name: 'uninit_bg', ok: true },
  0x20: { name: 'dir_nlink', ok: true },
  0x40: { name: 'extra_isize', ok: true },
  0x80: { name: 'snapshot', ok: false },
  0x100: { name: 'quota', ok: true },
  0x200: { name: 'bigalloc', ok: true },
  0x400: { name: 'metadata_csum', ok: true },
  0x800: { name: 'replica', ok: false },
  0x1000: { name: 'read-only', ok: false, why: 'the filesystem is marked read-only (it cannot be mounted writable)' },
  0x2000: { name: 'project', ok: true },
  0x4000: { name: 'shared_blocks', ok: false },
  0x8000: { name: 'verity', ok: true },
  0x10000: { name: 'orphan_present', ok: true },
};

function unsupported(flags: number, table: Record<number, { name: string; ok: boolean; why?: string }>): { names: string[]; why?: string } {
  const names: string[] = [];
  let why: string | undefined;
  for (let bit = 0; bit < 32; bit++) {
    const v = 2 ** bit;
    if (!(flags & v)) continue;
    const f = table[v];
    if (f?.ok) continue;
    names.push(f?.name ?? `0x${v.toString(16)}`);
    why ??= f?.why;
  }
  return { names, why };
}

/**
 * Why the superblock (the 1024 bytes at offset 1024) is refused outright, or undefined when it is
 * an ext2/3/4 superblock with only features the host supports (pure; e2fsck checks the rest).
 */
export function superblockProblem(sb: Buffer): string | undefined {
  if (sb.length < 1024) return 'too small to hold an ext4 filesystem';
  if (sb.readUInt16LE(MAGIC) !== 0xef53) return 'not an ext2/3/4 filesystem (no superblock magic 0xEF53 at byte 1080)';
  if (sb.readUInt32LE(LOG_BLOCK_SIZE) > 6) return `block size 2^(10+${sb.readUInt32LE(LOG_BLOCK_SIZE)}) is out of range`;
  const rev = sb.readUInt32LE(REV_LEVEL);
  if (rev > 1) return `unknown ext4 superblock revision ${rev}`;
  if (rev === 0) return undefined; // the original ext2: no feature flags
  const inc = unsupported(sb.readUInt32LE(FEATURE_INCOMPAT), INCOMPAT);
  const ro = unsupported(sb.readUInt32LE(FEATURE_RO_COMPAT), RO_COMPAT);
  const names = [...inc.names, ...ro.names];
  if (!names.length) return undefined;
  return inc.why ?? ro.why ?? `unsupported ext4 features: ${names.join(', ')}`;
}

/** e2fsck's exit status bits (e2fsck(8)). */
const EXIT_BITS: [number, string][] = [
  [4, 'errors left uncorrected'],
  [8, 'operational error'],
  [16, 'usage or syntax error'],
  [32, 'cancelled'],
  [128, 'shared-library error'],
];

/** Signs that the address-space limit, not the filesystem, stopped it. */
const OUT_OF_MEMORY = /Memory allocation failed|Cannot allocate memory|out of memory|Resource temporarily unavailable while|failed to map segment/i;

function killedReason(tool: string, r: Pick<SandboxRun, 'code' | 'signal' | 'timedOut' | 'stdout' | 'stderr'>, o: { timeoutMs: number; memoryMiB: number }): string | undefined {
  if (r.timedOut) return `${tool} did not finish in ${o.timeoutMs / 1000} s`;
  if (r.signal === 'SIGXCPU' || r.signal === 'SIGKILL') return `${tool} was killed (${r.signal}): it ran out of time`;
  if (r.signal) return `${tool} was killed by ${r.signal}`;
  if (r.code !== 0 && OUT_OF_MEMORY.test(`${r.stderr}\n${r.stdout}`)) return `${tool} ran out of memory (limit ${o.memoryMiB} MiB)`;
  return undefined;
}

/** What an e2fsck run says about the filesystem (pure). */
export function fsckVerdict(r: Pick<SandboxRun, 'code' | 'signal' | 'timedOut' | 'stdout' | 'stderr'>, o: { repair: boolean; timeoutMs: number; memoryMiB: number }): FsckVerdict {
  const output = `${r.stdout}${r.stdout && r.stderr ? '\n' : ''}${r.stderr}`;
  const killed = killedReason('e2fsck', r, o);
  if (killed) return { ok: false, reason: killed, code: r.code ?? undefined, output };
  const code = r.code ?? -1;
  // With -p, 1 (errors corrected) and 2 (corrected, reboot: for a mounted root) leave a clean filesystem.
  if (code === 0 || (o.repair && (code === 1 || code === 2))) return { ok: true, code, output };
  const bits = EXIT_BITS.filter(([b]) => code & b).map(([, s]) => s);
  const what = bits.length ? bits.join(', ') : 'errors found';
  const said = summary(output);
  return { ok: false, reason: `e2fsck: ${what} (exit ${code})${said ? `: ${said}` : ''}`, code, output };
}

/** The gist of a tool's output for a one-line reason: what it found, not its progress. */
export function summary(output: string, max = 300): string {
  const lines = output
    .split('\n')
    .map((l) =>
      l
        .replace(`${SANDBOX_DEVICE}: `, '')
        .replace(/\s+/g, ' ')
        .replace(/ [A-Z][\w ]*\? no$/, '')
        .trim(),
    )
    .filter((l) => l && !/^(e2fsck|resize2fs) \d/.test(l) && !/^Pass \d/.test(l) && !/^[\w ]+\? no$/.test(l) && !/^\(i\.e\., without -a or -p options\)$/.test(l))
    .filter((l) => !/^\d+\/\d+ files \(/.test(l) && !/WARNING: Filesystem still has errors/.test(l) && !/^\*+$/.test(l));
  const s = lines.slice(0, 3).join('; ');
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/**
 * A volume whose filesystem the host refuses to mount: its check failed (or it could not be
 * checked safely). Controllers take it as the client's fault: EC2's Client.InternalError.
 */
export class UntrustedFilesystemError extends Error {
  override readonly name = 'UntrustedFilesystemError';
  constructor(
    readonly volumeId: string,
    /** Why, in one line (e2fsck's verdict, a refused feature, a timeout). */
    readonly reason: string,
  ) {
    super(`the filesystem of ${volumeId} failed its check: ${reason}`);
  }
}

/** Whether e is (or was caused by) an UntrustedFilesystemError, also when it crossed a boundary that lost its class. */
export function isUntrustedFilesystemError(e: unknown): boolean {
  for (let x = e, depth = 0; x && depth < 5; x = (x as { cause?: unknown }).cause, depth++) {
    if (x instanceof UntrustedFilesystemError || (x as { name?: unknown }).name === 'UntrustedFilesystemError') return true;
  }
  return false;
}
