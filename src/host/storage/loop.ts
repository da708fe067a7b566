// Loop devices: the block devices of volumes and instance-store disks. Looked up through sysfs
// (a read, no process), set up and torn down with losetup.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { run, CommandError } from './exec.js';
import { isUnder } from './mounts.js';
import { realish } from './paths.js';

export interface LoopDevice {
  device: string; // /dev/loop3
  /** "major:minor", as in mountinfo. */
  devNo: string;
  backingFile: string;
  /** The backing file was deleted while attached (a leak by definition). */
  deleted: boolean;
  directIo: boolean;
}

// sysfs is generated in memory: a synchronous read never waits on a disk, and costs microseconds
// where the promise API costs a tenth of a millisecond per file (hosts keep a hundred loop nodes).
function readSys(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined; // not bound, or gone between readdir and read
  }
}

/** Every bound loop device on the host. */
export async function listLoopDevices(): Promise<LoopDevice[]> {
  const found: LoopDevice[] = [];
  for (const name of readdirSync('/sys/block')) {
    // loop/ appears when the device is bound: skip the rest without the cost of a failed read.
    if (!/^loop\d+$/.test(name) || !existsSync(`/sys/block/${name}/loop`)) continue;
    const back = readSys(`/sys/block/${name}/loop/backing_file`);
    const devNo = readSys(`/sys/block/${name}/dev`);
    if (!back || !devNo) continue;
    const deleted = back.endsWith(' (deleted)');
    found.push({
      device: `/dev/${name}`,
      devNo,
      backingFile: deleted ? back.slice(0, -' (deleted)'.length) : back,
      deleted,
      directIo: readSys(`/sys/block/${name}/loop/dio`) === '1',
    });
  }
  return found.sort((a, b) => a.device.localeCompare(b.device, 'en', { numeric: true }));
}

/** The loop devices backed by this file (what `losetup -j file` tells). */
export async function loopsOf(file: string): Promise<LoopDevice[]> {
  const path = await realish(file);
  return (await listLoopDevices()).filter((l) => !l.deleted && l.backingFile === path);
}

/** Loop devices whose backing file lies under dir: the leak check of a state folder. */
export async function listLoopDevicesUnder(dir: string): Promise<LoopDevice[]> {
  const root = await realish(dir);
  return (await listLoopDevices()).filter((l) => isUnder(l.backingFile, root));
}

export async function attachLoop(file: string, opts: { directIo: boolean }): Promise<LoopDevice> {
  const args = ['--find', '--show', ...(opts.directIo ? ['--direct-io=on'] : []), file];
  const device = (await run('losetup', args)).stdout.trim();
  const devNo = readSys(`/sys/block/${device.replace('/dev/', '')}/dev`);
  if (!devNo) throw new Error(`losetup ${args.join(' ')} printed ${JSON.stringify(device)}, which is not a loop device`);
  return { device, devNo, backingFile: await realish(file), deleted: false, directIo: opts.directIo };
}

/** Detach; a device already gone is fine. Still in use (mounted), the kernel frees it at the last close. */
export async function detachLoop(device: string): Promise<void> {
  try {
    await run('losetup', ['-d', device]);
  } catch (e) {
    if (e instanceof CommandError && /No such device|not a loop device|No such file/i.test(e.stderr)) return;
    throw e;
  }
}

/**
 * Whether the file can sit behind a direct-I/O loop. With direct I/O (no second copy of the data
 * in the host's page cache) the loop's sector size follows the backing file's I/O alignment: 4 KiB
 * on XFS for a reflinked file, and the kernel then refuses an ext4 with 1 KiB blocks ("bad block
 * size 1024", what mkfs.ext4 makes below 512 MiB). Such a filesystem gets a buffered loop.
 */
export async function canUseDirectIo(file: string): Promise<boolean> {
  const bs = await ext4BlockSize(file);
  return bs === undefined || bs >= 4096;
}

/** The block size of the ext4 filesystem in file, or undefined when it holds none. */
export async function ext4BlockSize(file: string): Promise<number | undefined> {
  const fh = await open(file, 'r');
  try {
    const sb = Buffer.alloc(1024);
    const { bytesRead } = await fh.read(sb, 0, 1024, 1024);
    if (bytesRead < 1024 || sb.readUInt16LE(0x38) !== 0xef53) return undefined;
    const log = sb.readUInt32LE(0x18);
    return log <= 6 ? 1024 << log : undefined;
  } finally {
    await fh.close();
  }
}

/**
 * The loop devices still bound under dir once released ones are gone (for leak checks). A loop
 * detached while a copy of its mount lives on in another mount namespace (one created at that
 * moment, e.g. by a container being set up) is freed by the kernel when that copy goes.
 */
export async function loopDevicesLeftUnder(dir: string, timeoutMs = 10_000): Promise<LoopDevice[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = await listLoopDevicesUnder(dir);
    if (!left.length || Date.now() >= deadline) return left;
    await new Promise((r) => setTimeout(r, 50));
  }
}
