// Encrypted EBS volumes at rest: the volume's file is a qcow2 image with LUKS encryption (qemu's
// encrypt.format=luks: data clusters in AES-256-XTS under a random master key held in a LUKS
// header, unlocked by a passphrase derived from the account's EBS key; the cluster map is in the
// clear: which 64 KiB ranges were ever written shows, not what). No dm-crypt here: while attached,
// a qemu-storage-daemon opens it and exports the plaintext as a FUSE file, and the loop device is
// made over that file. The daemon is daemonized (setsid): it outlives a server restart.
//
//   <dir>/<name>.plain   the FUSE mount point (a regular file) of the plaintext
//   <dir>/<name>.pid     the daemon's pidfile (qemu writes and removes it): a restarted server adopts it
//   <dir>/<name>.qmp     the daemon's QMP monitor (block_resize)
//   /run/cumulo-luks/    0700; the passphrase of a daemon being started, 0600, for the instant of the start
//
// The passphrase never appears in argv: qemu reads it from the 0600 file (secret object, file=).
import { createHmac, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { run } from './exec.js';
import { readMounts, umount } from './mounts.js';
import { checkName, exists, realish } from './paths.js';

const QCOW_MAGIC = Buffer.from([0x51, 0x46, 0x49, 0xfb]);
const CRYPT_LUKS = 2;
const SECRETS = '/run/cumulo-luks';

/**
 * Whether the file is an encrypted volume: a qcow2 image whose data clusters are LUKS-encrypted
 * (qcow2's crypt_method 2, at byte 32 of its header). qcow2 rather than a bare LUKS image: its
 * unallocated clusters read as zeros (a bare LUKS image reads its unwritten sectors as the
 * decryption of zeros, i.e. noise: an empty volume would neither read as zeros nor snapshot as
 * nothing), the file stays sparse, and qemu can grow it.
 */
export async function isLuks(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const b = Buffer.alloc(36);
    const { bytesRead } = await fh.read(b, 0, 36, 0);
    return bytesRead === 36 && b.subarray(0, 4).equals(QCOW_MAGIC) && b.readUInt32BE(32) === CRYPT_LUKS;
  } finally {
    await fh.close();
  }
}

/** The plaintext size of an encrypted volume (the qcow2 header's virtual size, at byte 24). */
export async function luksSize(file: string): Promise<number> {
  const fh = await open(file, 'r');
  try {
    const b = Buffer.alloc(32);
    const { bytesRead } = await fh.read(b, 0, 32, 0);
    if (bytesRead < 32 || !b.subarray(0, 4).equals(QCOW_MAGIC)) throw new Error(`${file} is not a qcow2 image`);
    return Number(b.readBigUInt64BE(24));
  } finally {
    await fh.close();
  }
}

/** Grow a closed encrypted volume (no daemon has it open) to sizeBytes: qemu-img resize, with its key. */
export async function growLuks(file: string, sizeBytes: number, key: Buffer): Promise<void> {
  if ((await luksSize(file)) >= sizeBytes) return;
  await withSecretFile(key, (secret) =>
    run('qemu-img', [
      'resize',
      '-q',
      '--object',
      `secret,id=sec0,file=${secret}`,
      '--image-opts',
      `driver=qcow2,encrypt.format=luks,encrypt.key-secret=sec0,file.driver=file,file.filename=${file}`,
      String(sizeBytes),
    ]),
  );
}

/** The LUKS passphrase of a 32-byte account key (a derived value: the account key itself is never handed out). */
export function passphraseOf(key: Buffer): string {
  if (key.length !== 32) throw new Error(`an EBS key is 32 bytes, not ${key.length}`);
  return createHmac('sha256', key).update('cumulo ebs luks 1').digest('hex');
}

/** Run fn with the passphrase in a 0600 file under /run (removed afterwards, whatever happens). */
async function withSecretFile<T>(key: Buffer, fn: (path: string) => Promise<T>): Promise<T> {
  await mkdir(SECRETS, { recursive: true, mode: 0o700 });
  const path = join(SECRETS, `${randomBytes(8).toString('hex')}.key`);
  await writeFile(path, passphraseOf(key), { mode: 0o600, flag: 'wx' });
  try {
    return await fn(path);
  } finally {
    await rm(path, { force: true });
  }
}

/**
 * A new encrypted volume of sizeBytes (qcow2 with LUKS encryption: AES-256-XTS, a random master key
 * in its LUKS header unlocked by the account's passphrase; sparse, reads as zeros). Fails if file exists.
 */
export async function createLuks(file: string, sizeBytes: number, key: Buffer): Promise<void> {
  if (await exists(file)) throw new Error(`${file} already exists`);
  await withSecretFile(key, (secret) =>
    retryBenchmark(() =>
      run('qemu-img', [
        'create',
        '-q',
        '-f',
        'qcow2',
        '--object',
        `secret,id=sec0,file=${secret}`,
        '-o',
        'encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10,encrypt.cipher-alg=aes-256,encrypt.cipher-mode=xts,cluster_size=65536',
        file,
        String(sizeBytes),
      ]),
    ),
  );
}

/**
 * qemu times PBKDF2 on the CPU to pick its iteration count, and gives up now and then on a busy
 * host ("Unable to get accurate CPU usage"): tried again. (The passphrase is 256 random bits: the
 * iteration count adds nothing to its strength.)
 */
async function retryBenchmark<T>(fn: () => Promise<T>, tries = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (i >= tries || !/accurate CPU usage/.test(String(e))) throw e;
    }
  }
}

/** The daemons exporting LUKS images of one folder as FUSE files. */
export class LuksExports {
  constructor(readonly dir: string) {}

  plainOf(name: string): string {
    checkName('export name', name);
    return join(this.dir, `${name}.plain`);
  }

  private qmpOf(name: string): string {
    return join(this.dir, `${name}.qmp`);
  }

  /** Grow the plaintext of a running export (QMP block_resize); the FUSE file reports the new size. */
  async grow(name: string, sizeBytes: number): Promise<void> {
    if (!(await this.isOpen(name))) throw new Error(`${name} is not exported`);
    if (!qmpUsable(this.qmpOf(name))) throw new Error(`${name}: its daemon has no monitor (path too long): detach the volume to grow it`);
    await qmp(this.qmpOf(name), { execute: 'block_resize', arguments: { 'node-name': 'vol0', size: sizeBytes } });
    // The kernel caches the FUSE file's attributes for a while: a stat past that refreshes its size
    // (what the loop device reads when told to look again).
    const plain = this.plainOf(name);
    const deadline = Date.now() + 10_000;
    while ((await stat(plain)).size < sizeBytes) {
      if (Date.now() > deadline) throw new Error(`${plain} still reports ${(await stat(plain)).size} bytes after growing to ${sizeBytes}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private pidFileOf(name: string): string {
    return join(this.dir, `${name}.pid`);
  }

  /** The pid of the live daemon exporting name (its cmdline checked: a recycled pid is not ours), or undefined. */
  async pidOf(name: string): Promise<number | undefined> {
    const text = await readFile(this.pidFileOf(name), 'utf8').catch(() => '');
    const pid = Number(text.trim());
    if (!Number.isInteger(pid) || pid < 2) return undefined;
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    if (/\) Z /.test(stat)) return undefined;
    const plain = await realish(this.plainOf(name));
    return cmd.includes('qemu-storage-daemon') && cmd.includes(`mountpoint=${plain}`) ? pid : undefined;
  }

  /** Whether the plaintext of name is exported (a live daemon with its FUSE mount in place). */
  async isOpen(name: string): Promise<boolean> {
    if (!(await this.pidOf(name))) return false;
    const plain = await realish(this.plainOf(name));
    return (await readMounts()).some((m) => m.mountPoint === plain);
  }

  /**
   * Export the plaintext of a LUKS image as <dir>/<name>.plain (idempotent: a running daemon, e.g.
   * one left by a server before its restart, is adopted). key is asked for only when a daemon starts.
   */
  async open(name: string, file: string, key: () => Promise<Buffer>, opts: { readOnly?: boolean } = {}): Promise<string> {
    const plain = this.plainOf(name);
    if (await this.isOpen(name)) return plain;
    await this.close(name); // a dead daemon's leftovers (stale FUSE mount, pidfile)
    await mkdir(this.dir, { recursive: true });
    const at = await realish(plain);
    await writeFile(at, '', { mode: 0o600 });
    const image = await realish(file);
    try {
      await this.start(name, image, at, await key(), opts.readOnly === true);
    } catch (e) {
      await this.close(name); // the empty mount point file, a half-started daemon
      throw e;
    }
    if (!(await this.isOpen(name))) {
      await this.close(name);
      throw new Error(`qemu-storage-daemon did not export ${file} at ${at}`);
    }
    return plain;
  }

  private async start(name: string, image: string, at: string, k: Buffer, readOnly: boolean): Promise<void> {
    const opts = { readOnly };
    await withSecretFile(k, (secret) =>
      run('qemu-storage-daemon', [
        '--daemonize',
        '--pidfile',
        this.pidFileOf(name),
        '--object',
        `secret,id=sec0,file=${secret}`,
        '--blockdev',
        `driver=file,node-name=file0,filename=${image},cache.direct=off${opts.readOnly ? ',read-only=on' : ''}`,
        '--blockdev',
        `driver=qcow2,node-name=vol0,file=file0,encrypt.format=luks,encrypt.key-secret=sec0${opts.readOnly ? ',read-only=on' : ''}`,
        '--export',
        `type=fuse,id=exp0,node-name=vol0,mountpoint=${at},writable=${opts.readOnly ? 'off' : 'on'}`,
        // Its monitor: block_resize grows an attached volume.
        ...(qmpUsable(this.qmpOf(name)) ? ['--chardev', `socket,id=qmp0,path=${this.qmpOf(name)},server=on,wait=off`, '--monitor', 'chardev=qmp0'] : []),
      ]),
    );
  }

  /** Stop the daemon (which unmounts its FUSE file), then whatever a killed one left. Idempotent. */
  async close(name: string): Promise<void> {
    const plain = this.plainOf(name);
    const pid = await this.pidOf(name);
    if (pid) {
      process.kill(pid, 'SIGTERM');
      const deadline = Date.now() + 10_000;
      while ((await this.pidAlive(pid)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      if (await this.pidAlive(pid)) {
        process.kill(pid, 'SIGKILL');
        while (await this.pidAlive(pid)) await new Promise((r) => setTimeout(r, 20));
      }
    }
    const at = await realish(plain);
    if ((await readMounts()).some((m) => m.mountPoint === at)) {
      await run('fusermount3', ['-u', '-z', at]).catch(() => umount(at));
    }
    await rm(plain, { force: true });
    await rm(this.pidFileOf(name), { force: true });
    await rm(this.qmpOf(name), { force: true });
  }

  private async pidAlive(pid: number): Promise<boolean> {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    return stat !== '' && !/\) Z /.test(stat);
  }

  /** Names with a daemon, a pidfile or a FUSE file in the folder. */
  async list(): Promise<string[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    return [...new Set(names.filter((n) => /\.(plain|pid|qmp)$/.test(n)).map((n) => n.replace(/\.(plain|pid|qmp)$/, '')))].sort();
  }

  async closeAll(): Promise<void> {
    for (const name of await this.list()) await this.close(name);
  }
}

/** A unix socket path fits in sun_path (108 bytes with its NUL). */
function qmpUsable(path: string): boolean {
  return Buffer.byteLength(path) < 108;
}

/** One QMP command on a daemon's monitor: greeting, qmp_capabilities, the command; its "return" or its error. */
function qmp(path: string, command: Record<string, unknown>, timeoutMs = 10_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sock = connect(path);
    let buf = '';
    let step = 0;
    const timer = setTimeout(() => fail(new Error(`QMP ${path}: no answer in ${timeoutMs} ms`)), timeoutMs);
    const fail = (e: Error) => {
      clearTimeout(timer);
      sock.destroy();
      reject(e);
    };
    sock.on('error', fail);
    sock.on('data', (d) => {
      buf += d.toString('utf8');
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        const msg = JSON.parse(line) as { QMP?: unknown; return?: unknown; error?: { desc?: string }; event?: string };
        if (msg.event) continue;
        if (msg.error) return fail(new Error(`QMP ${String(command.execute)}: ${msg.error.desc ?? JSON.stringify(msg.error)}`));
        if (step === 0 && msg.QMP) {
          step = 1;
          sock.write(`${JSON.stringify({ execute: 'qmp_capabilities' })}\n`);
        } else if (step === 1 && 'return' in msg) {
          step = 2;
          sock.write(`${JSON.stringify(command)}\n`);
        } else if (step === 2 && 'return' in msg) {
          clearTimeout(timer);
          sock.end();
          resolve(msg.return);
        }
      }
    });
  });
}
