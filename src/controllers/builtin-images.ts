// The built-in images are built by the server that runs instances, at start, one after another
// (the minimal image in seconds, Debian in minutes). Until its build is done an image is `pending`
// in DescribeImages, and RunInstances refuses it with InvalidAMIID.Unavailable as EC2 refuses a
// pending AMI. The build's progress goes to the server log and to <home>/image-builds.json, which
// `cumulo images` shows. A build that fails twice leaves the image `failed` with a state reason;
// the next start tries again.
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ImageStore } from '../host/images/store.js';
import { builtinImages, setBuiltinImageState } from '../services/ec2/images/builtin.js';
import type { Db } from '../store/db.js';

export const BUILD_STATUS_FILE = 'image-builds.json';

export interface BuildStatus {
  name: string;
  state: 'queued' | 'building' | 'available' | 'failed';
  /** The build's last step, as the log says it. */
  step?: string;
  done?: number;
  total?: number;
  startedAt?: string;
  updatedAt: string;
  error?: string;
}

const ATTEMPTS = 2;
const RETRY_MS = 10_000;

export interface BuiltinImageBuildsOptions {
  db: Db;
  home: string;
  /** The host's image store; none (a driver that runs nothing): every image is available as it is. */
  images?: ImageStore;
  log: (line: string) => void;
  /** Wait before a failed build's second attempt (a mirror's hiccup passes). */
  retryMs?: number;
}

export class BuiltinImageBuilds {
  private stopped = false;
  private readonly status = new Map<string, BuildStatus>();
  private queue: (typeof builtinImages)[number][] = [];

  constructor(private readonly opts: BuiltinImageBuildsOptions) {}

  /** Before the API answers: each built-in image is available if the host has it, else pending. */
  async mark(): Promise<void> {
    const { images, db } = this.opts;
    this.queue = [];
    for (const img of builtinImages) {
      // A store that cannot tell builds on first use (the instance waits in pending, as before).
      const built = !images || !images.find || images.find(img.source) !== undefined;
      await setBuiltinImageState(db, img.name, built ? 'available' : 'pending');
      if (!built) {
        this.queue.push(img);
        this.status.set(img.name, { name: img.name, state: 'queued', updatedAt: new Date().toISOString() });
      }
    }
    this.save();
  }

  /** Builds what mark() found missing, in the background. */
  start(): void {
    if (!this.queue.length) return;
    void this.buildAll().catch((e) => this.opts.log(`images: ${(e as Error).message}`));
  }

  /**
   * Stops writing states. A build under way is not waited for (minutes): what it leaves half made
   * is removed by the next build (src/host/images/builtin-store.ts), and the next start marks the
   * image by what the cache holds.
   */
  stop(): void {
    this.stopped = true;
  }

  private async buildAll(): Promise<void> {
    const { images, db, log } = this.opts;
    for (const img of this.queue) {
      if (this.stopped || !images) return;
      const st: BuildStatus = { name: img.name, state: 'building', startedAt: new Date().toISOString(), updatedAt: new Date().toISOString() };
      this.status.set(img.name, st);
      this.save();
      log(`images: ${img.name} is not built yet: building it (pending until it is done)`);
      let lastStep = '';
      let error: Error | undefined;
      for (let attempt = 1; attempt <= ATTEMPTS && !this.stopped; attempt++) {
        try {
          await images.ensure(img.source, (e) => {
            Object.assign(st, { step: e.step, done: e.done, total: e.total, updatedAt: new Date().toISOString() });
            this.save();
            // One log line per step; a counted one (debootstrap's packages) every 25.
            if (e.step === lastStep && (e.done === undefined || e.done % 25 !== 0)) return;
            lastStep = e.step;
            log(`images: ${img.name}: ${e.step}${e.done !== undefined ? ` (${e.done}${e.total ? `/${e.total}` : ''})` : ''}`);
          });
          error = undefined;
          break;
        } catch (e) {
          error = e as Error;
          log(`images: ${img.name}: build attempt ${attempt} of ${ATTEMPTS} failed: ${error.message}`);
          if (attempt < ATTEMPTS && !this.stopped) await new Promise((r) => setTimeout(r, this.opts.retryMs ?? RETRY_MS).unref());
        }
      }
      if (this.stopped) return;
      if (error) {
        Object.assign(st, { state: 'failed', error: error.message, updatedAt: new Date().toISOString() });
        await setBuiltinImageState(db, img.name, 'failed', { Code: 'Server.InternalError', Message: `The image could not be built: ${error.message.split('\n')[0]}` });
        log(`images: ${img.name} failed; the next start tries again`);
      } else {
        Object.assign(st, { state: 'available', updatedAt: new Date().toISOString() });
        await setBuiltinImageState(db, img.name, 'available');
        log(`images: ${img.name} is available`);
      }
      this.save();
    }
  }

  /** The progress for `cumulo images` (another process): written whole, then renamed. */
  private save(): void {
    if (this.stopped) return;
    const file = join(this.opts.home, BUILD_STATUS_FILE);
    try {
      writeFileSync(`${file}.tmp`, JSON.stringify({ pid: process.pid, images: [...this.status.values()] }, null, 2) + '\n');
      renameSync(`${file}.tmp`, file);
    } catch (e) {
      this.opts.log(`images: cannot write ${file}: ${(e as Error).message}`);
    }
  }
}
