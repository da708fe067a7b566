// System test (root, real): e2fsck in its sandbox over small ext4 images made here — clean, corrupt,
// not ext4 at all, too slow, too big — and the sandbox itself proven with other commands in
// e2fsck's place: nobody, no capabilities, no network, no host files, a read-only disk.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requires } from '../../../test/requires.js';
import { checkFilesystem, growFilesystem, NOBODY, runOnDevice, runSandboxed, type SandboxRun } from './fsck.js';
import { listLoopDevicesUnder } from './loop.js';

const needs = requires({ root: true, commands: ['losetup', 'mkfs.xfs', 'mkfs.ext4'] });

needs.describe('checkFilesystem (root)', () => {
  let dir: string;
  let server: Server;
  let port: number;
  let connections = 0;
  const img = (name: string) => join(dir, name);
  /** A small ext4 with a few files, 0600 like every volume file of a state folder. */
  const mkfs = (name: string, size = '8M', extra: string[] = []) => {
    const file = img(name);
    rmSync(file, { force: true });
    execFileSync('mkfs.ext4', ['-q', '-F', ...extra, '-d', join(dir, 'rootfs'), file, size]);
    chmodSync(file, 0o600);
    return file;
  };
  const debugfs = (file: string, request: string) => execFileSync('debugfs', ['-w', '-R', request, file], { stdio: 'ignore' });
  /** e2fsck processes still alive on the sandbox's device. */
  const e2fscks = () =>
    readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .map((p) => {
        try {
          return readFileSync(`/proc/${p}/cmdline`, 'utf8');
        } catch {
          return '';
        }
      })
      .filter((c) => c.startsWith('e2fsck\0') && c.includes('/tmp/disk'));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cumulo-fsck-'));
    mkdirSync(join(dir, 'rootfs', 'etc'), { recursive: true });
    writeFileSync(join(dir, 'rootfs', 'etc', 'hostname'), 'checked\n');
    for (let i = 0; i < 20; i++) writeFileSync(join(dir, 'rootfs', `file-${i}`), `content ${i}\n`.repeat(i * 100));
    server = createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    port = (server.address() as { port: number }).port;
  });

  afterAll(async () => {
    await new Promise((ok) => server.close(ok));
    expect(await listLoopDevicesUnder(dir)).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('passes a clean filesystem, read-only and repairing, without a loop device left', async () => {
    const file = mkfs('clean.img');
    const r = await checkFilesystem(file);
    expect(r).toMatchObject({ ok: true, code: 0 });
    expect(r.output).toContain('Pass 5');
    expect(await checkFilesystem(file, { repair: true })).toMatchObject({ ok: true, code: 0 });
    expect(await listLoopDevicesUnder(dir)).toEqual([]);
    // Never repaired while the kernel may have it (a loop device over it): only read.
    const loop = execFileSync('losetup', ['--find', '--show', file], { encoding: 'utf8' }).trim();
    try {
      await expect(checkFilesystem(file, { repair: true })).rejects.toThrow(/in use by a loop device/);
      expect((await checkFilesystem(file)).ok).toBe(true);
    } finally {
      execFileSync('losetup', ['-d', loop]);
    }
  });

  it('works under the server’s umask (077: a private state folder)', async () => {
    const file = mkfs('umask.img');
    const saved = process.umask(0o077);
    try {
      expect(await checkFilesystem(file)).toMatchObject({ ok: true, code: 0 });
      expect(await checkFilesystem(file, { repair: true })).toMatchObject({ ok: true, code: 0 });
    } finally {
      process.umask(saved);
    }
  });

  it("fails an image whose root inode was cleared, with e2fsck's reason; repairing cannot save it", async () => {
    const file = mkfs('no-root.img');
    debugfs(file, 'clri <2>');
    const r = await checkFilesystem(file);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.code! & 4).toBe(4);
    expect(r.reason).toMatch(/^e2fsck: errors left uncorrected.*Root inode is not a directory/);
    const p = await checkFilesystem(file, { repair: true });
    expect(p.ok).toBe(false);
    if (!p.ok) expect(p.reason).toMatch(/exit 4.*Root inode is not a directory.*UNEXPECTED INCONSISTENCY/);
  });

  it('fails an image whose inode table was overwritten with random bytes', async () => {
    const file = mkfs('noise.img');
    const table = /Inode table at (\d+)-(\d+)/.exec(execFileSync('dumpe2fs', [file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }))!;
    const blockSize = Number(/Block size:\s+(\d+)/.exec(execFileSync('dumpe2fs', ['-h', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }))![1]);
    execFileSync('dd', ['if=/dev/urandom', `of=${file}`, `bs=${blockSize}`, `seek=${table[1]}`, 'count=8', 'conv=notrunc', 'status=none']);
    const r = await checkFilesystem(file);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/^e2fsck: .*\(exit (4|8|12)\)/);
    expect((await checkFilesystem(file, { repair: true })).ok).toBe(false);
  });

  it('fails an image whose superblock fields were overwritten', async () => {
    const file = mkfs('superblock.img');
    // s_inodes_count: the superblock's checksum no longer matches, nor its backups its counts.
    execFileSync('dd', [`of=${file}`, 'bs=1', 'seek=1024', 'conv=notrunc', 'status=none'], { input: Buffer.from([0xff, 0xff, 0xff, 0x7f]) });
    const r = await checkFilesystem(file);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/^e2fsck: operational error \(exit 8\).*[Ss]uperblock/);
  });

  it('refuses what is not ext4 (or uses what the host does not support) before any tool reads it', async () => {
    const zeros = img('zeros.img');
    writeFileSync(zeros, Buffer.alloc(4 * 2 ** 20));
    expect(await checkFilesystem(zeros)).toMatchObject({ ok: false, reason: 'not an ext2/3/4 filesystem (no superblock magic 0xEF53 at byte 1080)', output: '' });
    const xfs = img('xfs.img');
    execFileSync('truncate', ['-s', '300M', xfs]);
    execFileSync('mkfs.xfs', ['-q', xfs]);
    expect(await checkFilesystem(xfs)).toMatchObject({ ok: false, reason: expect.stringMatching(/not an ext2\/3\/4 filesystem/) });
    const tiny = img('tiny.img');
    writeFileSync(tiny, 'short');
    expect(await checkFilesystem(tiny)).toMatchObject({ ok: false, reason: expect.stringMatching(/too small/) });
    const mmp = mkfs('mmp.img', '8M', ['-O', 'mmp']);
    expect(await checkFilesystem(mmp)).toMatchObject({ ok: false, reason: expect.stringMatching(/multi-mount protection/) });
    await expect(checkFilesystem(img('missing.img'))).rejects.toThrow(/cannot open/);
  });

  it('repairing clears what a snapshot of a live filesystem holds (an orphan); a read-only check calls it an error', async () => {
    const file = mkfs('orphan.img');
    // An open file deleted while mounted: no link left, not yet released.
    debugfs(file, 'sif /file-1 links_count 0');
    debugfs(file, 'unlink /file-1');
    const ro = await checkFilesystem(file);
    expect(ro).toMatchObject({ ok: false, code: 4 });
    const rw = await checkFilesystem(file, { repair: true });
    expect(rw).toMatchObject({ ok: true, code: 1 });
    expect(rw.output).toMatch(/FIXED/);
    expect(await checkFilesystem(file)).toMatchObject({ ok: true, code: 0 });
  });

  it('grows a checked filesystem to its device in the sandbox', async () => {
    const file = mkfs('grow.img', '8M');
    execFileSync('truncate', ['-s', '64M', file]);
    expect((await checkFilesystem(file, { repair: true })).ok).toBe(true);
    const g = await growFilesystem(file);
    expect(g).toMatchObject({ ok: true, code: 0 });
    expect(execFileSync('dumpe2fs', ['-h', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })).toMatch(/Block count:\s+65536/);
    expect((await checkFilesystem(file)).ok).toBe(true);
  });

  it('kills e2fsck at the timeout, and a memory limit stops it with a reason', async () => {
    // Sparse, 200 GiB: its bitmaps take e2fsck about half a second, and some 40 MiB.
    const big = img('big.img');
    execFileSync('truncate', ['-s', '200G', big]);
    execFileSync('mkfs.ext4', ['-q', '-F', big]);
    const r = await checkFilesystem(big, { timeoutMs: 150 });
    expect(r).toMatchObject({ ok: false, reason: 'e2fsck did not finish in 0.15 s' });
    expect(e2fscks()).toEqual([]);
    expect(await listLoopDevicesUnder(dir)).toEqual([]);
    const m = await checkFilesystem(big, { memoryMiB: 16 });
    expect(m).toMatchObject({ ok: false, reason: 'e2fsck ran out of memory (limit 16 MiB)' });
    expect((await checkFilesystem(big)).ok).toBe(true);
  });

  describe('the sandbox', () => {
    const sh = (script: string, o: Parameters<typeof runSandboxed>[1] = {}) => runSandboxed(['sh', '-c', script], o);

    it('runs as nobody, with no capabilities and no new privileges, and cannot leave its root', async () => {
      const r = await sh('id -u; id -g; id -G; setpriv --dump; chroot / true');
      expect(r).toMatchObject({ started: true, timedOut: false });
      expect(r.stdout.split('\n').slice(0, 3)).toEqual([String(NOBODY), String(NOBODY), String(NOBODY)]);
      expect(r.stdout).not.toMatch(/^(Effective|Permitted) capabilities: (?!\[none\])/m); // listed only when some are left
      expect(r.stdout).toMatch(/^Inheritable capabilities: \[none\]$/m);
      expect(r.stdout).toMatch(/^Capability bounding set: \[none\]$/m);
      expect(r.stdout).toMatch(/^Ambient capabilities: \[none\]$/m);
      expect(r.stdout).toMatch(/^Supplementary groups: \[none\]$/m);
      expect(r.stdout).toMatch(/^no_new_privs: 1$/m);
      expect(r.stderr).toMatch(/chroot: cannot change root directory to '\/': Operation not permitted/);
    });

    it("sees only /usr of the host: no /etc, /proc, /sys, /home, /root, nor the image's folder", async () => {
      const r = await sh(`ls -A /; ls /usr/sbin/e2fsck; cat /etc/shadow; ls /proc /sys /root ${dir}`);
      const [root, e2fsck] = r.stdout.split('\n/');
      expect(e2fsck).toBe('usr/sbin/e2fsck\n');
      const top = root!.trim().split('\n');
      expect(top).toEqual(expect.arrayContaining(['dev', 'tmp', 'usr']));
      expect(top.filter((n) => !/^(bin|sbin|lib|lib32|lib64|libx32|dev|tmp|usr)$/.test(n))).toEqual([]);
      expect(r.stderr).toMatch(/\/etc\/shadow: No such file/);
      for (const p of ['/proc', '/sys', '/root', dir]) expect(r.stderr).toContain(`cannot access '${p}': No such file`);
      const w = await sh('touch /usr/x /tmp/x /x');
      expect(w.stderr.match(/Read-only file system|Permission denied/g)).toHaveLength(3);
      expect(readFileSync('/etc/shadow', 'utf8')).toMatch(/^root:/m); // there, outside
    });

    it('has no network: lo only, and down; 127.0.0.1 does not answer', async () => {
      const before = connections;
      const r = await runSandboxed(['bash', '-c', `ip -o link; exec 3<>/dev/tcp/127.0.0.1/${port} && echo connected`]);
      expect(
        r.stdout
          .trim()
          .split('\n')
          .filter((l) => /^\d+: /.test(l)),
      ).toHaveLength(1);
      expect(r.stdout).toMatch(/^1: lo: <LOOPBACK> .*state DOWN/);
      expect(r.stdout).not.toContain('connected');
      expect(r.stderr).toMatch(/Network is unreachable|Connection refused/);
      expect(connections).toBe(before);
      // The same from here reaches the server: the sandbox is what stopped it.
      execFileSync('bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`]);
      await expect.poll(() => connections).toBe(before + 1);
    });

    it('reads its disk through the device node, cannot write it, chmod it or reach the image by path', async () => {
      const file = mkfs('node.img');
      const r = (await runOnDevice(file, false, [
        'sh',
        '-c',
        `od -An -tx1 -j1080 -N2 /tmp/disk; ls -ln /tmp/disk; echo x > /tmp/disk && echo wrote; chmod 666 /tmp/disk && echo chmodded; cat ${file} | head -c 1`,
      ])) as SandboxRun;
      expect(r.started).toBe(true);
      expect(r.stdout).toMatch(/^ 53 ef$/m);
      expect(r.stdout).toMatch(/^br--r--r-- 1 0 0 7, /m);
      expect(r.stdout).not.toMatch(/wrote|chmodded/);
      expect(r.stderr).toMatch(/\/tmp\/disk: Permission denied/);
      expect(r.stderr).toMatch(/Operation not permitted/);
      expect(r.stderr).toMatch(/No such file/);
      // Repairing: the node is writable, still not its to chmod.
      const w = (await runOnDevice(file, true, ['sh', '-c', 'ls -ln /tmp/disk; chmod 600 /tmp/disk && echo chmodded'])) as SandboxRun;
      expect(w.stdout).toMatch(/^brw-rw-rw- 1 0 0 7, /m);
      expect(w.stdout).not.toContain('chmodded');
      expect(await listLoopDevicesUnder(dir)).toEqual([]);
    });

    it('keeps only the head of what it prints, and kills what outlives the timeout, children included', async () => {
      const r = await sh('yes xxxxxxxxx | head -c 1000000', { maxOutputBytes: 1000 });
      expect(r.stdout).toMatch(/^(x{9}\n){100}\n\[… 999000 more bytes not kept\]\n$/);
      const slow = await sh('sleep 30 & sleep 30; echo done', { timeoutMs: 300 });
      expect(slow).toMatchObject({ timedOut: true, code: null, signal: 'SIGKILL' });
      expect(slow.stdout).not.toContain('done');
      const sleepers = readdirSync('/proc').filter(
        (p) =>
          /^\d+$/.test(p) &&
          (() => {
            try {
              return readFileSync(`/proc/${p}/cmdline`, 'utf8') === 'sleep\u000030\u0000';
            } catch {
              return false;
            }
          })(),
      );
      expect(sleepers).toEqual([]); // the one in the background too: its PID namespace died with its init
    });
  });
});
