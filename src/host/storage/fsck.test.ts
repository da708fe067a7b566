// The sandbox and the verdicts of the filesystem check, as pure functions: nothing runs here
// (fsck.system.test.ts runs them for real).
import { describe, expect, it } from 'vitest';
import { splitDev } from './devno.js';
import { e2fsckArgv, fsckVerdict, isUntrustedFilesystemError, SANDBOX_DEVICE, SANDBOX_SETUP, sandboxArgv, summary, superblockProblem, UntrustedFilesystemError } from './fsck.js';

/** The argv in its stages: unshare, the root setup, prlimit, setpriv, the command. */
function stages(argv: string[]) {
  const u = argv.indexOf('--');
  const pr = argv.indexOf('prlimit', u);
  const p = argv.indexOf('--', pr);
  const s = argv.indexOf('--', p + 1);
  return {
    unshare: argv.slice(0, u),
    setup: argv.slice(u + 1, pr),
    prlimit: argv.slice(pr, p),
    setpriv: argv.slice(p + 1, s),
    command: argv.slice(s + 1),
  };
}

describe('sandboxArgv', () => {
  const argv = sandboxArgv(e2fsckArgv(false), { device: { major: 7, minor: 12, writable: false } });
  const st = stages(argv);

  it('new network, IPC, UTS, PID, cgroup and mount namespaces, killed with its parent', () => {
    expect(st.unshare).toEqual(['unshare', '--net', '--ipc', '--uts', '--pid', '--cgroup', '--mount', '--fork', '--kill-child']);
    expect(st.unshare).not.toContain('--user'); // the setup step needs the host's root to mknod and mount
  });

  it('root setup: a root of its own with /usr read-only, /dev/null and the one device node; then chroot', () => {
    expect(st.setup).toEqual(['sh', '-c', SANDBOX_SETUP, 'cumulo-sandbox', '7:12', '0444']);
    const lines = SANDBOX_SETUP.split('\n');
    expect(lines.filter((l) => /^\s*(mount|mknod|cp|exec)\b/.test(l) || /\bmount --bind\b/.test(l))).toEqual([
      'mount -t tmpfs -o size=64k,mode=0755,nosuid,noexec cumulo-sandbox /tmp',
      'mount --bind -o ro,nosuid,nodev /usr usr',
      '  elif [ -d "/$d" ]; then mkdir "$d"; mount --bind -o ro,nosuid,nodev "/$d" "$d"',
      'mknod -m 0666 dev/null c 1 3',
      'exec chroot . "$@"',
    ]);
    expect(SANDBOX_SETUP).toContain(`[ "$dev" = - ] || mknod -m "$mode" .${SANDBOX_DEVICE} b`);
    expect(SANDBOX_SETUP).not.toMatch(/proc|sys|etc/); // none of them in its root
  });

  it('limits: address space, CPU time, open files, no core dumps', () => {
    expect(st.prlimit).toEqual(['prlimit', `--as=${1024 * 2 ** 20}`, '--cpu=60', '--core=0', '--nofile=64']);
    const small = stages(sandboxArgv(['true'], { memoryMiB: 96, timeoutMs: 2500 }));
    expect(small.prlimit).toEqual(['prlimit', `--as=${96 * 2 ** 20}`, '--cpu=3', '--core=0', '--nofile=64']);
    expect(stages(sandboxArgv(['true'], { cpuSeconds: 7, timeoutMs: 60_000 })).prlimit).toContain('--cpu=7');
  });

  it('drops to nobody: no groups, no capabilities, no new privileges', () => {
    expect(st.setpriv).toEqual(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--no-new-privs', '--bounding-set=-all', '--inh-caps=-all']);
    expect(stages(sandboxArgv(['true'], { uid: 1000, gid: 1001 })).setpriv.slice(1, 3)).toEqual(['--reuid=1000', '--regid=1001']);
  });

  it('announces itself as the unprivileged user, then becomes the command', () => {
    expect(st.command.slice(0, 2)).toEqual(['sh', '-c']);
    expect(st.command.slice(3)).toEqual(['cumulo-sandboxed', 'e2fsck', '-fn', SANDBOX_DEVICE]);
  });

  it.each([
    // device, node
    [{ major: 7, minor: 3, writable: false }, ['7:3', '0444']],
    [{ major: 7, minor: 3, writable: true }, ['7:3', '0666']],
    [{ major: 259, minor: 1048575, writable: false }, ['259:1048575', '0444']],
    [undefined, ['-', '0444']],
  ] as const)('device %j → node %j', (device, node) => {
    expect(stages(sandboxArgv(['true'], { device })).setup.slice(4)).toEqual(node);
  });

  it.each([
    [{ uid: 0 }, /never runs as root/],
    [{ gid: 0 }, /never runs as root/],
    [{ memoryMiB: 0 }, /positive/],
    [{ cpuSeconds: -1 }, /positive/],
  ])('refuses %j', (o, err) => {
    expect(() => sandboxArgv(['true'], o)).toThrow(err);
  });

  it('refuses an empty command', () => {
    expect(() => sandboxArgv([])).toThrow(/no command/);
  });
});

describe('e2fsckArgv', () => {
  it.each([
    [false, ['e2fsck', '-fn', SANDBOX_DEVICE]],
    [true, ['e2fsck', '-fp', SANDBOX_DEVICE]],
  ])('repair %s → %j', (repair, argv) => {
    expect(e2fsckArgv(repair)).toEqual(argv);
  });
});

/** A superblock: ext4's magic, revision 1, the given feature flags. */
function superblock(o: { magic?: number; rev?: number; incompat?: number; roCompat?: number; logBlock?: number } = {}): Buffer {
  const b = Buffer.alloc(1024);
  b.writeUInt16LE(o.magic ?? 0xef53, 0x38);
  b.writeUInt32LE(o.logBlock ?? 2, 0x18);
  b.writeUInt32LE(o.rev ?? 1, 0x4c);
  b.writeUInt32LE((o.incompat ?? 0x2c2) >>> 0, 0x60); // filetype extent 64bit flex_bg (mkfs.ext4's)
  b.writeUInt32LE((o.roCompat ?? 0x46b) >>> 0, 0x64); // sparse_super large_file huge_file dir_nlink extra_isize metadata_csum
  return b;
}

describe('superblockProblem', () => {
  it.each([
    ['mkfs.ext4 defaults', superblock(), undefined],
    ['needs_recovery, inline_data, casefold, encrypt', superblock({ incompat: 0x2c2 | 0x4 | 0x8000 | 0x20000 | 0x10000 }), undefined],
    ['orphan_present, verity, project, quota, bigalloc', superblock({ roCompat: 0x46b | 0x10000 | 0x8000 | 0x2000 | 0x100 | 0x200 }), undefined],
    ['the original ext2 (revision 0: no feature flags)', superblock({ rev: 0, incompat: 0xffffffff }), undefined],
    ['zeros', Buffer.alloc(1024), /no superblock magic 0xEF53 at byte 1080/],
    ['a short file', Buffer.alloc(100), /too small/],
    ['a byte-swapped magic', superblock({ magic: 0x53ef }), /no superblock magic/],
    ['an external journal', superblock({ incompat: 0x8 }), /external journal device/],
    ['multi-mount protection', superblock({ incompat: 0x2c2 | 0x100 }), /multi-mount protection/],
    ['compression', superblock({ incompat: 0x2c2 | 0x1 }), /unsupported ext4 features: compression$/],
    ['dirdata and an unknown bit', superblock({ incompat: 0x2c2 | 0x1000 | 0x80000000 }), /unsupported ext4 features: dirdata, 0x80000000$/],
    ['read-only', superblock({ roCompat: 0x46b | 0x1000 }), /marked read-only/],
    ['shared_blocks', superblock({ roCompat: 0x46b | 0x4000 }), /unsupported ext4 features: shared_blocks$/],
    ['an unknown ro_compat bit', superblock({ roCompat: 0x46b | 0x100000 }), /unsupported ext4 features: 0x100000$/],
    ['revision 2', superblock({ rev: 2 }), /unknown ext4 superblock revision 2/],
    ['a 2^40-byte block', superblock({ logBlock: 30 }), /block size .* out of range/],
  ])('%s', (_name, sb, want) => {
    const got = superblockProblem(sb);
    if (want === undefined) expect(got).toBeUndefined();
    else expect(got).toMatch(want);
  });
});

describe('fsckVerdict', () => {
  const o = { repair: false, timeoutMs: 60_000, memoryMiB: 1024 };
  const run = (r: Partial<Parameters<typeof fsckVerdict>[0]>) => ({ code: 0, signal: null, timedOut: false, stdout: '', stderr: '', ...r });
  const errors = 'Pass 1: Checking inodes, blocks, and sizes\nInode 12 has illegal block(s).  Clear? no\n\nIllegal block #0 (3735928559) in inode 12.  IGNORED.\n';

  it.each([
    // what happened, repair, ok, reason
    ['exit 0', run({ code: 0 }), false, true, undefined],
    ['exit 0, repairing', run({ code: 0 }), true, true, undefined],
    ['exit 1 (corrected), repairing', run({ code: 1 }), true, true, undefined],
    ['exit 2 (corrected, reboot), repairing', run({ code: 2 }), true, true, undefined],
    ['exit 1 on a read-only check', run({ code: 1 }), false, false, /^e2fsck: errors found \(exit 1\)/],
    [
      'exit 4',
      run({ code: 4, stdout: errors }),
      false,
      false,
      /^e2fsck: errors left uncorrected \(exit 4\): Inode 12 has illegal block\(s\)\.; Illegal block #0 \(3735928559\) in inode 12\. IGNORED\.$/,
    ],
    [
      'exit 4, repairing',
      run({ code: 4, stdout: `${SANDBOX_DEVICE}: UNEXPECTED INCONSISTENCY; RUN fsck MANUALLY.\n\t(i.e., without -a or -p options)\n` }),
      true,
      false,
      /^e2fsck: errors left uncorrected \(exit 4\): UNEXPECTED INCONSISTENCY; RUN fsck MANUALLY\.$/,
    ],
    [
      'exit 8',
      run({ code: 8, stderr: 'e2fsck: Bad magic number in super-block while trying to open /tmp/disk\n' }),
      false,
      false,
      /^e2fsck: operational error \(exit 8\): e2fsck: Bad magic number/,
    ],
    ['exit 12', run({ code: 12, stdout: errors }), false, false, /^e2fsck: errors left uncorrected, operational error \(exit 12\)/],
    ['exit 16', run({ code: 16 }), false, false, /usage or syntax error \(exit 16\)$/],
    ['exit 32', run({ code: 32 }), true, false, /cancelled \(exit 32\)$/],
    ['timed out', run({ code: null, signal: 'SIGKILL', timedOut: true }), false, false, /^e2fsck did not finish in 60 s$/],
    ['CPU limit', run({ code: null, signal: 'SIGKILL' }), false, false, /ran out of time/],
    ['crashed', run({ code: null, signal: 'SIGSEGV' }), false, false, /^e2fsck was killed by SIGSEGV$/],
    [
      'memory',
      run({ code: 8, stderr: 'e2fsck: Resource temporarily unavailable while retrying to read bitmaps for /tmp/disk\ne2fsck: aborted\n' }),
      false,
      false,
      /^e2fsck ran out of memory \(limit 1024 MiB\)$/,
    ],
    ['memory, allocation', run({ code: 8, stderr: 'e2fsck: Memory allocation failed\n' }), true, false, /ran out of memory/],
  ] as const)('%s', (_name, r, repair, ok, reason) => {
    const v = fsckVerdict(r, { ...o, repair });
    expect(v.ok).toBe(ok);
    if (!v.ok) expect(v.reason).toMatch(reason!);
  });

  it('keeps what e2fsck printed', () => {
    expect(fsckVerdict(run({ code: 4, stdout: errors, stderr: 'e2fsck 1.47.0 (5-Feb-2023)\n' }), o).output).toBe(`${errors}\ne2fsck 1.47.0 (5-Feb-2023)\n`);
  });
});

describe('summary', () => {
  it('drops progress, versions, answers and totals; strips the device; at most three findings', () => {
    const out = [
      'e2fsck 1.47.0 (5-Feb-2023)',
      'Pass 1: Checking inodes, blocks, and sizes',
      'Deleted inode 62 has zero dtime.  Fix? no',
      '',
      'Inode bitmap differences:  -62',
      'Fix? no',
      '',
      `${SANDBOX_DEVICE}: ********** WARNING: Filesystem still has errors **********`,
      `${SANDBOX_DEVICE}: 62/16384 files (0.0% non-contiguous), 9563/65536 blocks`,
      'Block bitmap differences: +1',
      'Free blocks count wrong',
    ].join('\n');
    expect(summary(out)).toBe('Deleted inode 62 has zero dtime.; Inode bitmap differences: -62; Block bitmap differences: +1');
  });

  it('is cut to its maximum', () => {
    const s = summary('x'.repeat(1000), 50);
    expect(s).toHaveLength(50);
    expect(s.endsWith('…')).toBe(true);
  });
});

describe('splitDev', () => {
  it.each([
    [(7 << 8) | 3, 7, 3],
    [(259 << 8) | 0, 259, 0],
    // Large minors spill above bit 19 (glibc's encoding): minor 256 of major 7.
    [(7 << 8) | (256 << 12), 7, 256],
  ])('%i → %i:%i', (rdev, major, minor) => {
    expect(splitDev(rdev)).toEqual({ major, minor });
  });
});

describe('UntrustedFilesystemError', () => {
  it('names the volume and the reason, and is recognised through causes and lost classes', () => {
    const e = new UntrustedFilesystemError('vol-0123456789abcdef0', 'e2fsck: errors left uncorrected (exit 4)');
    expect(e.message).toBe('the filesystem of vol-0123456789abcdef0 failed its check: e2fsck: errors left uncorrected (exit 4)');
    expect(e.name).toBe('UntrustedFilesystemError');
    expect(isUntrustedFilesystemError(e)).toBe(true);
    expect(isUntrustedFilesystemError(new Error('preparing i-1 failed', { cause: e }))).toBe(true);
    expect(isUntrustedFilesystemError(Object.assign(new Error('from elsewhere'), { name: 'UntrustedFilesystemError' }))).toBe(true);
    expect(isUntrustedFilesystemError(new Error('no capacity'))).toBe(false);
    expect(isUntrustedFilesystemError(undefined)).toBe(false);
  });
});
