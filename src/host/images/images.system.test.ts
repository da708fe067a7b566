// System test (root): the built-in images for real. The minimal image is built fresh (seconds); the
// Debian image comes from the machine-wide cache, built there only if missing (about a minute or
// two: debootstrap from the Debian mirror), so the suite builds it at most once per machine.
// Each image then boots its own init in fresh namespaces (PID, mount, UTS, net, IPC) from a copy of
// its snapshot, loop-mounted inside the private mount namespace: when the namespace ends the mount
// goes and the loop device detaches itself. SSH runs inside the instance's network namespace.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { requires } from '../../../test/requires.js';
import { builtinImages } from '../../services/ec2/images/builtin.js';
import { BuiltinImageStore } from './builtin-store.js';
import { guestAsset } from './guest.js';
import type { ImageArtifact } from './store.js';
import { userDataScript } from './userdata.js';

const needs = requires({ root: true, commands: ['busybox', 'dropbear', 'mkfs.ext4', 'ssh-keygen', 'ssh', 'nsenter', 'unshare'] });
const isRoot = needs.ok;
const SHARED_CACHE = process.env.CUMULO_IMAGE_CACHE || '/var/cache/cumulo/images';
const minimalSource = builtinImages.find((i) => i.source.builtin === 'minimal')!.source;
const debianSource = builtinImages.find((i) => i.source.builtin === 'debian-12')!.source;

let work: string;
const booted = new Set<ChildProcess>();

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'cumulo-images-system-'));
  if (isRoot) {
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'test@cumulo', '-f', join(work, 'key')]);
  }
});

/** Kill every instance still running (their namespaces, mounts and loop devices go with them). */
async function stopAll(): Promise<void> {
  const exits = [...booted].map((c) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(null) : c.once('exit', r))));
  for (const c of booted) c.kill('SIGKILL');
  await Promise.all(exits);
  // The kernel detaches an autoclear loop device just after the last mount goes.
  for (let i = 0; i < 20 && spawnSync('losetup', ['-a'], { encoding: 'utf8' }).stdout.includes(work); i++) await new Promise((r) => setTimeout(r, 100));
}

afterAll(async () => {
  await stopAll();
  rmSync(work, { recursive: true, force: true });
});

function debugfs(image: string, request: string): string {
  return spawnSync('debugfs', ['-R', request, image], { encoding: 'utf8' }).stdout;
}

/** Type, permissions and owner of a path in an ext4 image, e.g. { type: 'regular', mode: 0o4755, uid: 0, gid: 0 }. */
function statIn(image: string, path: string): { type: string; mode: number; uid: number; gid: number } | undefined {
  const out = debugfs(image, `stat ${path}`);
  const m = /Type: (\S+)\s+Mode:\s+(\d+)/.exec(out);
  const u = /User:\s+(\d+)\s+Group:\s+(\d+)/.exec(out);
  if (!m || !u) return undefined;
  return { type: m[1]!, mode: parseInt(m[2]!, 8), uid: Number(u[1]), gid: Number(u[2]) };
}

function checkFilesystem(a: ImageArtifact): void {
  expect(statSync(a.snapshotFile).mode & 0o777).toBe(0o400);
  expect(statSync(a.snapshotFile).size).toBe(a.sizeGiB * 1024 ** 3);
  // sparse: a small fraction of the size is allocated
  expect(statSync(a.snapshotFile).blocks * 512).toBeLessThan(512 * 1024 ** 2);
  const fsck = spawnSync('e2fsck', ['-fn', a.snapshotFile], { encoding: 'utf8' });
  expect(fsck.status, fsck.stdout + fsck.stderr).toBe(0);
  expect(spawnSync('e2label', [a.snapshotFile], { encoding: 'utf8' }).stdout.trim()).toBe('cloudimg-rootfs');
  // The init, and the shutdown commands that talk to it
  expect(debugfs(a.snapshotFile, 'cat /usr/lib/cumulo/init')).toBe(readFileSync(guestAsset('init.sh'), 'utf8'));
  expect(statIn(a.snapshotFile, '/usr/lib/cumulo/init')?.mode).toBe(0o755);
  for (const c of ['init', 'poweroff', 'halt', 'reboot', 'shutdown']) {
    expect(debugfs(a.snapshotFile, `stat /usr/sbin/${c}`)).toMatch(/Fast link dest: "\/usr\/lib\/cumulo\/(init|shutdown)"/);
  }
  expect(statIn(a.snapshotFile, '/var/lib/cumulo')?.mode).toBe(0o700);
}

// ---------------------------------------------------------------------------------------------
// Booting an image's init for real

interface Boot {
  proc: ChildProcess;
  console: () => string;
  /** Host pid of the instance's PID 1. */
  init: () => number;
  waitFor: (re: RegExp, ms?: number) => Promise<number>;
  exit: Promise<number | null>;
  /** A command in the instance's network namespace (from the host's tools). */
  inNet: (cmd: string, args: string[]) => { status: number | null; out: string };
  /** A command inside the instance (its root, namespaces). */
  inside: (args: string[], opts?: { uid?: number }) => { status: number | null; out: string };
}

const bootScript = `
set -e
mount -o loop "$IMG" "$R"
cp -a "$FILES/." "$R/"
mount -t proc proc "$R/proc"
mount -t tmpfs -o mode=755 tmpfs "$R/dev"
for n in null zero random urandom tty full; do touch "$R/dev/$n"; mount --bind "/dev/$n" "$R/dev/$n"; done
mkdir -p "$R/dev/pts" "$R/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts "$R/dev/pts"
ln -s pts/ptmx "$R/dev/ptmx"
hostname "$HOSTNAME_"
exec chroot "$R" /sbin/init
`;

/** Boot a writable copy of the image (the volume) in fresh namespaces, the driver's files written first. */
function boot(image: string, files: Record<string, string>): Boot {
  const id = Math.random().toString(16).slice(2, 8);
  const dir = join(work, `boot-${id}`);
  const mnt = join(dir, 'root');
  const staged = join(dir, 'files');
  mkdirSync(mnt, { recursive: true });
  mkdirSync(staged, { recursive: true });
  for (const [p, content] of Object.entries(files)) {
    mkdirSync(join(staged, p, '..'), { recursive: true });
    writeFileSync(join(staged, p), content);
  }
  const proc = spawn('unshare', ['--pid', '--fork', '--mount', '--uts', '--net', '--ipc', '--kill-child', '--', 'sh', '-c', bootScript], {
    env: { PATH: process.env.PATH, IMG: image, R: mnt, FILES: staged, HOSTNAME_: files['etc/hostname']?.trim() ?? 'localhost' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  booted.add(proc);
  let out = '';
  const waiters: (() => void)[] = [];
  const take = (b: Buffer) => {
    out += b.toString();
    for (const w of waiters.splice(0)) w();
  };
  proc.stdout!.on('data', take);
  proc.stderr!.on('data', take);
  const exit = new Promise<number | null>((res) =>
    proc.on('exit', (code) => {
      booted.delete(proc);
      res(code);
    }),
  );
  const init = () => {
    const pid = proc.pid!;
    const kids = readdirSync(`/proc/${pid}/task`).flatMap((t) => readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean));
    if (!kids[0]) throw new Error('the instance has no PID 1 yet');
    return Number(kids[0]);
  };
  return {
    proc,
    console: () => out,
    init,
    exit,
    waitFor: (re, ms = 10_000) =>
      new Promise((res, rej) => {
        const t0 = Date.now();
        const check = () => {
          if (re.test(out)) return res(Date.now() - t0);
          if (Date.now() - t0 > ms || proc.exitCode !== null) return rej(new Error(`console never showed ${re}:\n${out}`));
          waiters.push(check);
          setTimeout(check, 50);
        };
        check();
      }),
    inNet: (cmd, args) => {
      const r = spawnSync('nsenter', ['-t', String(init()), '-n', cmd, ...args], { encoding: 'utf8', timeout: 20_000 });
      return { status: r.status, out: r.stdout + r.stderr };
    },
    inside: (args, opts = {}) => {
      const ids = opts.uid !== undefined ? ['-S', String(opts.uid), '-G', String(opts.uid)] : [];
      const r = spawnSync('nsenter', ['-t', String(init()), '-a', '-r', '-w', ...ids, ...args], { encoding: 'utf8', timeout: 20_000 });
      return { status: r.status, out: r.stdout + r.stderr };
    },
  };
}

function ssh(b: Boot, user: string, command: string): { status: number | null; out: string } {
  return b.inNet('ssh', [
    '-i',
    join(work, 'key'),
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'BatchMode=yes',
    '-o',
    'ConnectTimeout=5',
    '-o',
    'LogLevel=ERROR',
    `${user}@127.0.0.1`,
    command,
  ]);
}

function volumeOf(a: ImageArtifact, name: string): string {
  const file = join(work, `${name}.ext4`);
  // A full (sparse) copy stands in for the copy-on-write volume the storage layer makes.
  spawnSync('cp', ['--sparse=always', a.snapshotFile, file]);
  chmodSync(file, 0o600);
  return file;
}

function driverFiles(sshUser: string, hostname: string, userData?: string, distro: 'minimal' | 'debian' = 'minimal'): Record<string, string> {
  return {
    'etc/hostname': `${hostname}\n`,
    'var/lib/cumulo/ssh-user': `${sshUser}\n`,
    'var/lib/cumulo/public-keys': readFileSync(join(work, 'key.pub'), 'utf8'),
    ...(userData !== undefined
      ? { 'var/lib/cloud/instance/user-data.sh': userDataScript(Buffer.from(userData), { sshUser, distro }), 'var/lib/cloud/instance/user-data.txt': userData }
      : {}),
  };
}

// ---------------------------------------------------------------------------------------------

needs.describe('the minimal image', () => {
  let artifact: ImageArtifact;
  afterEach(stopAll);

  beforeAll(async () => {
    // A fresh build (no shared cache); how long it takes is bench:launch's (c).
    const store = new BuiltinImageStore({ home: join(work, 'home'), cacheDir: join(work, 'cache') });
    artifact = await store.ensure(minimalSource);
  });

  it('is a whole ext4 snapshot with busybox, dropbear, sudo, ec2-user and the init', () => {
    expect(artifact.sshUser).toBe('ec2-user');
    expect(artifact.sizeGiB).toBe(1);
    checkFilesystem(artifact);
    const img = artifact.snapshotFile;
    expect(statIn(img, '/usr/bin/busybox')?.mode).toBe(0o755);
    expect(debugfs(img, 'stat /bin')).toMatch(/Fast link dest: "usr\/bin"/);
    expect(debugfs(img, 'stat /usr/bin/sh')).toMatch(/Fast link dest: "\/usr\/bin\/busybox"/);
    expect(statIn(img, '/usr/sbin/dropbear')?.mode).toBe(0o755);
    expect(statIn(img, '/usr/bin/dropbearkey')?.mode).toBe(0o755);
    expect(statIn(img, '/usr/bin/sudo')).toEqual({ type: 'regular', mode: 0o4755, uid: 0, gid: 0 });
    expect(statIn(img, '/usr/libexec/sudo/sudoers.so')?.type).toBe('regular');
    expect(statIn(img, '/usr/lib/x86_64-linux-gnu/libc.so.6')?.type).toBe('regular');
    expect(statIn(img, '/usr/lib/x86_64-linux-gnu/security/pam_unix.so')?.type).toBe('regular');
    expect(statIn(img, '/etc/ld.so.cache')?.type).toBe('regular');
    expect(debugfs(img, 'cat /etc/passwd')).toMatch(/^ec2-user:x:1000:1000:[^:]*:\/home\/ec2-user:\/bin\/sh$/m);
    expect(debugfs(img, 'cat /etc/sudoers.d/90-cloud-init-users')).toMatch(/^ec2-user ALL=\(ALL\) NOPASSWD:ALL$/m);
    expect(statIn(img, '/etc/sudoers.d/90-cloud-init-users')?.mode).toBe(0o440);
    expect(statIn(img, '/etc/shadow')?.mode).toBe(0o600);
    expect(statIn(img, '/home/ec2-user')).toEqual({ type: 'directory', mode: 0o700, uid: 1000, gid: 1000 });
    expect(debugfs(img, 'cat /usr/lib/os-release')).toMatch(/^ID=cumulo-minimal$/m);
    // no host keys baked in: each instance makes its own
    expect(debugfs(img, 'ls /etc/dropbear')).not.toMatch(/host_key/);
  });

  it('boots: SSH with the key pair in milliseconds, sudo, user data once, reboot and stop', async () => {
    const volume = volumeOf(artifact, 'minimal');
    const hostname = 'ip-172-31-0-5.ec2.internal';
    const userData = '#!/bin/sh\nmkdir -p /srv/www && echo "hello from user data" > /srv/www/index.html\nbusybox httpd -p 80 -h /srv/www\necho USER-DATA-RAN\n';
    const t0 = Date.now();
    let b = boot(volume, driverFiles('ec2-user', hostname, userData));
    await b.waitFor(/ssh is listening on port 22/);
    process.stderr.write(`minimal: first boot, ssh listening after ${Date.now() - t0} ms (namespaces, loop mount and all)\n`);
    await b.waitFor(/Cloud-init v\. .* finished at/);
    const c = b.console();
    expect(c).toContain(`cumulo-init: booting ${hostname} (cumulo minimal`);
    expect(c).toMatch(
      /ec2: -----BEGIN SSH HOST KEY FINGERPRINTS-----\nec2: 256 SHA256:\S+ root@ip-172-31-0-5\.ec2\.internal \(ECDSA\)\nec2: 256 SHA256:\S+ root@\S+ \(ED25519\)\nec2: -----END SSH HOST KEY FINGERPRINTS-----/,
    );
    expect(c).toMatch(/-----BEGIN SSH HOST KEY KEYS-----\necdsa-sha2-nistp256 \S+ root@\S+\nssh-ed25519 \S+ root@\S+\n-----END SSH HOST KEY KEYS-----/);
    expect(c).toContain('USER-DATA-RAN');
    const keys = /-----BEGIN SSH HOST KEY KEYS-----[^]*?-----END SSH HOST KEY KEYS-----/.exec(c)![0];

    // SSH as ec2-user with the key pair; sudo without a password
    const r = ssh(b, 'ec2-user', 'id -un; sudo -n id -u; hostname; sudo cat /var/log/cloud-init-output.log');
    expect(r.out).toMatch(/^ec2-user\n0\nip-172-31-0-5\.ec2\.internal\n/);
    expect(r.out, r.out).toContain('USER-DATA-RAN');
    expect(r.status).toBe(0);
    // the web server user data started
    expect(b.inNet('wget', ['-qO-', 'http://127.0.0.1/']).out).toBe('hello from user data\n');
    // root cannot log in; a user cannot power off
    expect(ssh(b, 'root', 'true').status).not.toBe(0);
    expect(b.inside(['/sbin/poweroff'], { uid: 1000 }).out).toContain('must be superuser');
    // zombies of orphans are reaped
    b.inside(['/bin/sh', '-c', '(sleep 0.1 &); (sleep 0.2 &); true']);
    await new Promise((res) => setTimeout(res, 600));
    const children = spawnSync('ps', ['--ppid', String(b.init()), '-o', 'stat='], { encoding: 'utf8' }).stdout;
    expect(children).not.toMatch(/Z/);

    // the SSH server is started again when it dies
    b.inside(['/bin/sh', '-c', 'kill $(cat /run/dropbear.pid)']);
    await b.waitFor(/the ssh server exited; starting it again/);
    let back = ssh(b, 'ec2-user', 'echo back');
    for (let i = 0; i < 40 && back.out.trim() !== 'back'; i++) {
      await new Promise((res) => setTimeout(res, 250));
      back = ssh(b, 'ec2-user', 'echo back');
    }
    expect(back.out.trim()).toBe('back');

    // reboot from inside: PID 1 exits 129
    b.inside(['/sbin/reboot']);
    expect(await b.exit).toBe(129);
    expect(b.console()).toContain('cumulo-init: rebooting: done');

    // second boot: same host keys, user data not again; `poweroff` → exit 0
    b = boot(volume, {});
    await b.waitFor(/Cloud-init v\. .* finished at/);
    expect(b.console()).toContain(keys);
    expect(b.console()).not.toContain('USER-DATA-RAN');
    expect(ssh(b, 'ec2-user', 'sudo grep -c USER-DATA-RAN /var/log/cloud-init-output.log').out.trim()).toBe('1');
    b.inside(['/sbin/poweroff']);
    expect(await b.exit).toBe(0);

    // third boot: SIGTERM from the host, with a process that ignores it: killed after 5 s, exit 0
    b = boot(volume, {});
    await b.waitFor(/ssh is listening/);
    const stubborn = spawn('nsenter', ['-t', String(b.init()), '-a', '-r', '-w', '/bin/sh', '-c', 'trap "" TERM; while :; do sleep 1; done'], { stdio: 'ignore' });
    await new Promise((res) => setTimeout(res, 300));
    const t1 = Date.now();
    process.kill(b.init(), 'SIGTERM');
    expect(await b.exit).toBe(0);
    const took = Date.now() - t1;
    // Not before its grace period of 5 s (a lower bound: a slow machine cannot break it).
    expect(took).toBeGreaterThan(4_000);
    expect(b.console()).toContain('cumulo-init: killing the processes still running');
    stubborn.kill('SIGKILL');
  }, 60_000);
});

needs.describe('the Debian image', () => {
  let artifact: ImageArtifact;
  afterEach(stopAll);

  beforeAll(async () => {
    const store = new BuiltinImageStore({ home: join(work, 'home'), cacheDir: SHARED_CACHE });
    const cached = store.find(debianSource);
    const t0 = Date.now();
    artifact = await store.ensure(debianSource, (e) => {
      if (e.done === undefined || e.done % 50 === 0) process.stderr.write(`debian image: ${e.step}${e.done ? ` (${e.done})` : ''}\n`);
    });
    if (!cached) process.stderr.write(`debian image built in ${((Date.now() - t0) / 1000).toFixed(1)} s into ${SHARED_CACHE}\n`);
  }, 20 * 60_000);

  it('is a whole ext4 snapshot: Debian 12, admin with passwordless sudo, sshd, python3, no secrets of the build', () => {
    expect(artifact.sshUser).toBe('admin');
    expect(artifact.sizeGiB).toBe(8);
    checkFilesystem(artifact);
    const img = artifact.snapshotFile;
    expect(debugfs(img, 'cat /usr/lib/os-release')).toMatch(/^PRETTY_NAME="Debian GNU\/Linux 12 \(bookworm\)"$/m);
    expect(debugfs(img, 'cat /etc/passwd')).toMatch(/^admin:x:1000:1000:[^:]*:\/home\/admin:\/bin\/bash$/m);
    expect(debugfs(img, 'cat /etc/group')).toMatch(/^sudo:x:27:admin$/m);
    expect(debugfs(img, 'cat /etc/sudoers.d/90-cloud-init-users')).toMatch(/^admin ALL=\(ALL\) NOPASSWD:ALL$/m);
    expect(statIn(img, '/usr/sbin/sshd')?.type).toBe('regular');
    expect(statIn(img, '/usr/bin/python3')).toBeDefined();
    expect(statIn(img, '/usr/bin/sudo')?.mode).toBe(0o4755);
    expect(debugfs(img, 'cat /etc/pam.d/sshd')).toMatch(/^session\s+optional\s+pam_loginuid\.so$/m);
    expect(debugfs(img, 'ls /etc/ssh')).not.toMatch(/ssh_host_/);
    expect(statIn(img, '/etc/resolv.conf')).toBeUndefined();
    expect(debugfs(img, 'cat /etc/machine-id')).toBe('');
    expect(debugfs(img, 'ls /var/cache/apt/archives')).not.toMatch(/\.deb/);
    expect(debugfs(img, 'cat /etc/apt/sources.list.d/debian.sources')).toMatch(/^Suites: bookworm bookworm-updates$/m);
    expect(statIn(img, '/etc/apt/sources.list')).toBeUndefined();
  });

  it('boots end to end: SSH as admin in under 3 s, sudo, cloud-config user data serving a page', async () => {
    const volume = volumeOf(artifact, 'debian');
    const userData = `#cloud-config
write_files:
  - path: /srv/www/index.html
    content: "hello from debian\\n"
runcmd:
  - cd /srv/www && nohup python3 -m http.server 80 >/var/log/web.log 2>&1 &
`;
    const b = boot(volume, driverFiles('admin', 'ip-172-31-0-6.ec2.internal', userData, 'debian'));
    await b.waitFor(/ssh is listening on port 22/);
    // How soon is bench:launch's (a) (port 22, Debian).
    await b.waitFor(/Cloud-init v\. .* finished at/, 20_000);
    expect(b.console()).toMatch(/ec2: 3072 SHA256:\S+ root@ip-172-31-0-6\.ec2\.internal \(RSA\)/);
    const r = ssh(b, 'admin', 'id -un; sudo -n id -u; python3 -c "print(6*7)"');
    expect(r.out).toBe('admin\n0\n42\n');
    let page = '';
    for (let i = 0; i < 50 && page !== 'hello from debian\n'; i++) {
      page = b.inNet('curl', ['-s', '--max-time', '2', 'http://127.0.0.1/']).out;
      if (page !== 'hello from debian\n') await new Promise((res) => setTimeout(res, 100));
    }
    expect(page).toBe('hello from debian\n');
    process.kill(b.init(), 'SIGTERM');
    expect(await b.exit).toBe(0);
  }, 60_000);
});

needs.describe('cleanup', () => {
  it('leaves no process, mount or loop device behind', async () => {
    await stopAll();
    const loops = spawnSync('losetup', ['-a'], { encoding: 'utf8' }).stdout;
    expect(loops.includes(work)).toBe(false);
    expect(readFileSync('/proc/self/mountinfo', 'utf8').includes(work)).toBe(false);
  });
});
