// Instance store: the ephemeral disks of instance types that have them (i3, d2, m5d, …). Sparse
// raw files under $CUMULO_HOME/instance-store/<instance-id>/, one loop device each. The first is
// formatted ext4 (EC2's Linux AMIs mount ephemeral0 at /mnt through cloud-init; the runc driver
// does the same); the others stay raw, as EC2 hands them out.
//
// Their data survives a reboot (the files stay) and is gone after stop/start and terminate: the
// driver destroys them on stop and creates them afresh on start.
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Revert } from '../revert.js';
import { run } from './exec.js';
import { KeyedLock } from './lock.js';
import { attachLoop, canUseDirectIo, detachLoop, listLoopDevicesUnder, loopsOf } from './loop.js';
import { readMounts, unmountTree } from './mounts.js';
import { checkName, exists, realish, sparseFile } from './paths.js';

const GiB = 1024 ** 3;
const READY = '.ready';

export interface InstanceStoreSpec {
  count: number;
  sizeGiB: number;
  type: 'ssd' | 'hdd';
}

export class InstanceStoreDisks {
  readonly dir: string;
  private readonly locks = new KeyedLock();

  constructor(opts: { home: string }) {
    this.dir = join(resolve(opts.home), 'instance-store');
  }

  private instanceDir(instanceId: string): string {
    checkName('instance id', instanceId);
    return join(this.dir, instanceId);
  }

  /**
   * The instance's disks as block devices, in order (ephemeral0 first). Idempotent: disks that
   * exist already are reused with their data (a reboot, a server restart); a set that a killed
   * server left half-made is made again.
   */
  async create(instanceId: string, disks: InstanceStoreSpec[]): Promise<string[]> {
    const dir = this.instanceDir(instanceId);
    const sizes = disks.flatMap((d) => Array.from({ length: d.count }, () => d.sizeGiB));
    for (const s of sizes) if (!Number.isInteger(s) || s < 1) throw new Error(`invalid instance-store disk size ${s} GiB`);
    if (!sizes.length) return [];
    return this.locks.run(instanceId, async () => {
      const revert = new Revert();
      try {
        if (!(await exists(join(dir, READY)))) {
          await this.removeDir(dir);
          revert.add(() => this.removeDir(dir));
          await mkdir(dir, { recursive: true });
          for (const [i, size] of sizes.entries()) {
            const file = join(dir, `ephemeral${i}.raw`);
            await sparseFile(file, size * GiB);
            // Lazy init: a 7.5 TB disk is formatted in well under a second, and stays sparse.
            if (i === 0) await run('mkfs.ext4', ['-q', '-F', '-L', 'ephemeral0', '-E', 'nodiscard,lazy_itable_init=1,lazy_journal_init=1', file]);
          }
          await writeFile(join(dir, READY), '');
        }
        const devices: string[] = [];
        for (const i of sizes.keys()) {
          const file = join(dir, `ephemeral${i}.raw`);
          const [existing] = await loopsOf(file);
          if (existing) {
            devices.push(existing.device);
            continue;
          }
          const loop = await attachLoop(file, { directIo: await canUseDirectIo(file) });
          revert.add(() => detachLoop(loop.device));
          devices.push(loop.device);
        }
        revert.release();
        return devices;
      } catch (e) {
        await revert.unwind();
        throw e;
      }
    });
  }

  /** Unmount, detach and delete the instance's disks. Idempotent. */
  async destroy(instanceId: string): Promise<void> {
    const dir = this.instanceDir(instanceId);
    await this.locks.run(instanceId, () => this.removeDir(dir));
  }

  /** Instances that have disks here (for adoption and orphan cleanup after a restart). */
  async list(): Promise<string[]> {
    try {
      return (await readdir(this.dir)).sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
  }

  /** Release every loop device of the instance store (the files stay). */
  async close(): Promise<void> {
    await this.release(this.dir);
  }

  private async release(dir: string): Promise<void> {
    const loops = await listLoopDevicesUnder(dir);
    const devNos = new Set(loops.map((l) => l.devNo));
    await unmountTree((await readMounts()).filter((m) => devNos.has(m.devNo)).map((m) => m.mountPoint));
    for (const loop of loops) await detachLoop(loop.device);
  }

  private async removeDir(dir: string): Promise<void> {
    await this.release(await realish(dir));
    await rm(dir, { recursive: true, force: true });
  }
}
