// The store's core: chunk files named by their hash, the manifests that name them, and the refcount
// index (refs.idx) saying which manifests use which chunk. Operations that add chunks do so in a
// session that pins them, so a concurrent delete never frees a chunk about to be referenced.
import { constants } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { copyFile, mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { KeyedLock } from '../lock.js';
import { checkName, exists } from '../paths.js';
import { deferred, Gate, pool, type Deferred } from './concurrency.js';
import { batches, xfsIo } from './extents.js';
import { fsyncPath, syncFs } from './io.js';
import { chunksOf, decodeIndex, decodeManifest, digestOf, encodeIndex, encodeManifest, infoOf, readDigest, type Index, type Manifest, type Ref } from './manifest.js';
import { DEFAULT_CHUNK_SIZE, SnapshotNotFoundError, type BlockStoreOptions, type FsckOptions, type FsckReport, type SnapshotInfo } from './types.js';

/** Chunks written (or reflinked) between two syncs, and the bytes that may wait unsynced. */
const BATCH_CHUNKS = 1024;
const BATCH_BYTES = 256 * 1024 * 1024;

interface PendingChunk {
  hash: string;
  /** Name under tmp/. */
  tmp: string;
  bytes: number;
  /** Made by reflinking this range of the session's clone (else already written). */
  reflink?: { off: number; len: number };
}

/**
 * One operation adding chunks (a snapshot, a copy in): the chunks it pins (no delete frees them
 * until it ends), those it is writing, and those other operations are writing for it.
 */
export interface Session {
  pinned: Set<string>;
  batch: PendingChunk[];
  batchBytes: number;
  writing: Map<string, Deferred>;
  deps: Map<string, Promise<void>>;
  /** tmp/ name of the point-in-time clone reflink entries come from. */
  clone?: string;
  /** Reads a chunk's bytes again when a reflink did not take. */
  reread?: (off: number, len: number) => Promise<Buffer>;
  /** Chunks made as reflinks. */
  reflinked: number;
  /** Folders of chunks/ it renamed chunks into. */
  dirs: Set<string>;
}

/** The part of BlockStore below its operations (store.ts). */
export class ChunkStore {
  readonly dir: string;
  readonly chunkSize: number;
  protected readonly concurrency: number;
  protected readonly manifestsDir: string;
  private readonly chunksDir: string;
  protected readonly tmpDir: string;
  private readonly indexFile: string;
  private ready?: Promise<void>;
  protected readonly gate = new Gate();
  protected readonly locks = new KeyedLock();
  /** Committed manifests (id → digest) and the chunks they use: what refs.idx holds. */
  protected manifests = new Map<string, string>();
  protected refs = new Map<string, Ref>();
  protected readonly pins = new Map<string, number>();
  protected readonly inflight = new Map<string, Promise<void>>();
  protected readonly removing = new Map<string, Promise<void>>();
  private readonly madeDirs = new Set<string>();
  private indexWrite: Promise<void> = Promise.resolve();
  private indexQueued?: Promise<void>;
  protected reflinks = false;
  protected dev = -1;
  protected blockSize = 4096;
  protected readonly zeros: Buffer;

  constructor(opts: BlockStoreOptions) {
    this.dir = resolve(opts.dir);
    this.chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
    if (!Number.isInteger(this.chunkSize) || this.chunkSize < 512 || this.chunkSize > 64 * 1024 * 1024 || this.chunkSize % 512) {
      throw new Error(`chunk size must be a multiple of 512 bytes up to 64 MiB, got ${this.chunkSize}`);
    }
    this.concurrency = Math.max(1, opts.concurrency ?? 4);
    this.manifestsDir = join(this.dir, 'manifests');
    this.chunksDir = join(this.dir, 'chunks');
    this.tmpDir = join(this.dir, 'tmp');
    this.indexFile = join(this.dir, 'refs.idx');
    this.zeros = Buffer.alloc(this.chunkSize);
  }

  /** Open the store: create it, clear temporaries, load the refcount index and reconcile it with the manifests. Idempotent. */
  init(): Promise<void> {
    this.ready ??= this.open().catch((e) => {
      this.ready = undefined;
      throw e;
    });
    return this.ready;
  }

  /** Whether new chunks and restores use reflinks (the store is on a filesystem that has them). */
  async canReflink(): Promise<boolean> {
    await this.init();
    return this.reflinks;
  }

  private async open(): Promise<void> {
    for (const d of [this.dir, this.manifestsDir, this.chunksDir, this.tmpDir]) await mkdir(d, { recursive: true });
    await this.clearTmp();
    const st = await stat(this.chunksDir);
    this.dev = st.dev;
    this.blockSize = st.blksize || 4096;
    this.reflinks = await this.probeReflink();
    let idx: Index | undefined;
    try {
      idx = decodeIndex(await readFile(this.indexFile));
    } catch {
      idx = undefined; // missing or damaged: rebuilt from the manifests
    }
    if (!idx || !(await this.reconcile(idx))) await this.rebuild({});
  }

  private async probeReflink(): Promise<boolean> {
    const a = join(this.tmpDir, 'probe-a');
    const b = join(this.tmpDir, 'probe-b');
    try {
      await writeFile(a, Buffer.alloc(this.blockSize, 1));
      await copyFile(a, b, constants.COPYFILE_FICLONE_FORCE);
      return true;
    } catch {
      return false;
    } finally {
      await rm(a, { force: true });
      await rm(b, { force: true });
    }
  }

  private async clearTmp(): Promise<number> {
    const names = await readdir(this.tmpDir);
    for (const n of names) await rm(join(this.tmpDir, n), { force: true, recursive: true });
    return names.length;
  }

  /**
   * Bring a loaded index up to the manifests on disk: add manifests written after it, finish
   * interrupted deletes. False when they disagree in a way only a rebuild settles.
   */
  private async reconcile(idx: Index): Promise<boolean> {
    this.manifests = idx.manifests;
    this.refs = idx.refs;
    let changed = false;
    const names = await readdir(this.manifestsDir);
    const onDisk = new Set<string>();
    for (const name of names) {
      if (!name.endsWith('.snap')) continue;
      const id = name.slice(0, -'.snap'.length);
      onDisk.add(id);
      const digest = await readDigest(join(this.manifestsDir, name));
      const known = this.manifests.get(id);
      if (known === digest) continue;
      if (known !== undefined) return false;
      let m: Manifest;
      try {
        m = decodeManifest(await readFile(join(this.manifestsDir, name)), name);
      } catch {
        return false; // a damaged manifest: fsck quarantines it
      }
      this.addRefs(id, digest, m);
      changed = true;
    }
    for (const name of names) {
      if (!name.endsWith('.deleting')) continue;
      const id = name.slice(0, -'.deleting'.length);
      const file = join(this.manifestsDir, name);
      let m: Manifest;
      try {
        m = decodeManifest(await readFile(file), name);
      } catch {
        return false;
      }
      if (this.manifests.has(id) && !onDisk.has(id)) {
        this.dropRefs(id, m);
        changed = true;
      }
      for (const hex of chunksOf(m).keys()) if (!this.refs.has(hex)) await rm(this.chunkPath(hex), { force: true });
      if (changed) await this.persistIndex();
      await rm(file, { force: true });
    }
    for (const id of this.manifests.keys()) if (!onDisk.has(id)) return false;
    if (changed) await this.persistIndex();
    return true;
  }

  // --- refcounts --------------------------------------------------------------------------

  private addRefs(id: string, digest: string, m: Manifest): void {
    this.manifests.set(id, digest);
    for (const [hex, size] of chunksOf(m)) {
      const r = this.refs.get(hex);
      if (r) r.n++;
      else this.refs.set(hex, { n: 1, size });
    }
  }

  /** Drop a manifest's references; the chunks no manifest uses any more, with their sizes. */
  protected dropRefs(id: string, m: Manifest): Map<string, number> {
    this.manifests.delete(id);
    const freed = new Map<string, number>();
    for (const [hex, size] of chunksOf(m)) {
      const r = this.refs.get(hex);
      if (!r) continue;
      if (--r.n <= 0) {
        this.refs.delete(hex);
        freed.set(hex, r.size || size);
      }
    }
    return freed;
  }

  /** Resolves after an index write that began after this call: coalesces concurrent commits. */
  protected persistIndex(): Promise<void> {
    if (this.indexQueued) return this.indexQueued;
    const p = this.indexWrite
      .catch(() => undefined)
      .then(() => {
        this.indexQueued = undefined;
        return this.writeDurable(this.indexFile, encodeIndex({ manifests: this.manifests, refs: this.refs }));
      });
    this.indexQueued = p;
    this.indexWrite = p;
    return p;
  }

  private async writeDurable(file: string, data: Buffer): Promise<void> {
    const tmp = join(this.tmpDir, `${randomBytes(8).toString('hex')}.part`);
    const fh = await open(tmp, 'wx');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await rename(tmp, file);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    await fsyncPath(dirname(file));
  }

  // --- chunks -----------------------------------------------------------------------------

  protected chunkName(hex: string): string {
    return `chunks/${hex.slice(0, 2)}/${hex}`;
  }

  protected chunkPath(hex: string): string {
    return join(this.dir, this.chunkName(hex));
  }

  protected session(): Session {
    return { pinned: new Set(), batch: [], batchBytes: 0, writing: new Map(), deps: new Map(), reflinked: 0, dirs: new Set() };
  }

  protected pin(s: Session, hex: string): void {
    if (s.pinned.has(hex)) return;
    s.pinned.add(hex);
    this.pins.set(hex, (this.pins.get(hex) ?? 0) + 1);
  }

  /** Let go of a pin; a chunk nothing holds any more goes. */
  private unpin(hex: string): void {
    const n = (this.pins.get(hex) ?? 1) - 1;
    if (n > 0) return void this.pins.set(hex, n);
    this.pins.delete(hex);
    if (!this.refs.has(hex) && !this.inflight.has(hex)) void this.remove(hex).catch(() => undefined);
  }

  protected remove(hex: string): Promise<void> {
    const prev = this.removing.get(hex) ?? Promise.resolve();
    const p: Promise<void> = prev
      .catch(() => undefined)
      .then(() => rm(this.chunkPath(hex), { force: true }))
      .finally(() => {
        if (this.removing.get(hex) === p) this.removing.delete(hex);
      });
    this.removing.set(hex, p);
    return p;
  }

  /** Pin a chunk and say whether this session must write it ('write') or it is there or on its way ('present'). */
  protected async claim(s: Session, hex: string): Promise<'present' | 'write'> {
    this.pin(s, hex);
    const removal = this.removing.get(hex);
    if (removal) await removal.catch(() => undefined);
    // The file is checked even when a manifest counts it: a chunk fsck found lost is written again.
    const settled = (): 'present' | undefined => {
      if (s.writing.has(hex)) return 'present';
      const w = this.inflight.get(hex);
      if (!w) return undefined;
      s.deps.set(hex, w);
      return 'present';
    };
    if (settled()) return 'present';
    const there = await exists(this.chunkPath(hex));
    if (settled() || there) return 'present';
    const d = deferred();
    s.writing.set(hex, d);
    this.inflight.set(hex, d.promise);
    return 'write';
  }

  protected add(s: Session, chunk: PendingChunk): void {
    s.batch.push(chunk);
    s.batchBytes += chunk.bytes;
  }

  protected full(s: Session): boolean {
    return s.batch.length >= BATCH_CHUNKS || s.batchBytes >= BATCH_BYTES;
  }

  /** Make the session's pending chunks durable and give them their names. */
  protected async flush(s: Session): Promise<void> {
    const batch = s.batch;
    s.batch = [];
    s.batchBytes = 0;
    if (!batch.length) return;
    try {
      const refl = batch.filter((c) => c.reflink);
      if (refl.length) await this.reflinkChunks(s, refl);
      await syncFs(
        this.tmpDir,
        batch.map((c) => join(this.tmpDir, c.tmp)),
      );
      for (const c of batch) {
        const sub = join(this.chunksDir, c.hash.slice(0, 2));
        if (!this.madeDirs.has(sub)) {
          await mkdir(sub, { recursive: true });
          this.madeDirs.add(sub);
        }
        await rename(join(this.tmpDir, c.tmp), join(sub, c.hash));
        s.dirs.add(sub);
      }
    } catch (e) {
      for (const c of batch) {
        await rm(join(this.tmpDir, c.tmp), { force: true });
        this.settle(s, c.hash, e);
      }
      throw e;
    }
    for (const c of batch) this.settle(s, c.hash);
  }

  private settle(s: Session, hex: string, error?: unknown): void {
    const d = s.writing.get(hex);
    if (!d) return;
    s.writing.delete(hex);
    if (this.inflight.get(hex) === d.promise) this.inflight.delete(hex);
    if (error === undefined) d.resolve();
    else d.reject(error);
  }

  /** New chunk files as reflinks of the clone; any that did not take is written from the clone's bytes. */
  private async reflinkChunks(s: Session, chunks: PendingChunk[]): Promise<void> {
    const cmds = (c: PendingChunk) => [`open -f tmp/${c.tmp}`, `reflink tmp/${s.clone} ${c.reflink!.off} 0 ${c.reflink!.len}`, 'close'];
    for (const batch of batches(chunks.map(cmds))) await xfsIo(this.dir, [], batch).catch(() => undefined);
    await pool(chunks, this.concurrency, async (c) => {
      const st = await stat(join(this.tmpDir, c.tmp)).catch(() => undefined);
      if (st?.size === c.reflink!.len) {
        s.reflinked++;
        return;
      }
      await writeFile(join(this.tmpDir, c.tmp), await s.reread!(c.reflink!.off, c.reflink!.len));
      c.reflink = undefined;
    });
  }

  /** Write a manifest once its chunks are all durable, and count its references. */
  protected async commit(s: Session, m: Manifest): Promise<void> {
    await this.flush(s);
    for (const [hex, dep] of s.deps) {
      await dep.catch(() => undefined);
      if (!this.refs.has(hex) && !(await exists(this.chunkPath(hex)))) throw new Error(`chunk ${hex} was being stored by an operation that failed; try again`);
    }
    await syncFs(this.chunksDir, [...s.dirs]); // the renames
    const encoded = encodeManifest(m);
    await this.writeDurable(this.manifestPath(m.snapshotId), encoded);
    this.addRefs(m.snapshotId, digestOf(encoded), m);
    await this.end(s);
    await this.persistIndex();
  }

  /** The session is over (committed or failed): unflushed chunks go, pins are released. */
  protected async end(s: Session, error?: unknown): Promise<void> {
    for (const c of s.batch) await rm(join(this.tmpDir, c.tmp), { force: true });
    s.batch = [];
    for (const hex of [...s.writing.keys()]) this.settle(s, hex, error ?? new Error('aborted'));
    for (const hex of s.pinned) this.unpin(hex);
    s.pinned.clear();
  }

  // --- manifests --------------------------------------------------------------------------

  protected manifestPath(id: string): string {
    return join(this.manifestsDir, `${id}.snap`);
  }

  protected async readManifestMaybe(id: string): Promise<Manifest | undefined> {
    try {
      return decodeManifest(await readFile(this.manifestPath(id)), `manifest of ${id}`);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  protected async readManifest(id: string): Promise<Manifest> {
    checkName('snapshot id', id);
    const m = await this.readManifestMaybe(id);
    if (!m) throw new SnapshotNotFoundError(id);
    return m;
  }

  /** Snapshots in the store. */
  async list(): Promise<string[]> {
    await this.init();
    return [...this.manifests.keys()].sort();
  }

  async has(snapshotId: string): Promise<boolean> {
    await this.init();
    return this.manifests.has(snapshotId);
  }

  async info(snapshotId: string): Promise<SnapshotInfo | undefined> {
    checkName('snapshot id', snapshotId);
    await this.init();
    const m = await this.readManifestMaybe(snapshotId);
    return m && infoOf(m);
  }

  /**
   * Check and repair, alone: remove temporaries and chunks no manifest uses, finish interrupted
   * deletes, quarantine damaged manifests, rebuild the refcount index from the manifests, and
   * report chunks that are missing (or, with verify, damaged).
   */
  async fsck(opts: FsckOptions = {}): Promise<FsckReport> {
    await this.init();
    return this.gate.withExclusive(() => this.rebuild(opts));
  }

  private async rebuild(opts: FsckOptions): Promise<FsckReport> {
    const report: FsckReport = {
      tempFilesRemoved: await this.clearTmp(),
      orphanChunksRemoved: 0,
      orphanBytesRemoved: 0,
      corruptChunks: 0,
      missingChunks: 0,
      damagedSnapshots: [],
      corruptManifests: [],
      interruptedDeletes: 0,
      snapshots: 0,
      chunks: 0,
    };
    const manifests = new Map<string, string>();
    const refs = new Map<string, Ref>();
    const users = new Map<string, string[]>();
    const encrypted = new Set<string>();
    for (const name of (await readdir(this.manifestsDir)).sort()) {
      const file = join(this.manifestsDir, name);
      if (name.endsWith('.deleting')) {
        await rm(file, { force: true });
        report.interruptedDeletes++;
        continue;
      }
      if (!name.endsWith('.snap')) continue;
      const id = name.slice(0, -'.snap'.length);
      let m: Manifest;
      let raw: Buffer;
      try {
        raw = await readFile(file);
        m = decodeManifest(raw, name);
        if (m.snapshotId !== id) throw new Error(`${name} holds ${m.snapshotId}`);
      } catch {
        await rename(file, join(this.manifestsDir, `${id}.corrupt`));
        report.corruptManifests.push(id);
        continue;
      }
      manifests.set(id, digestOf(raw));
      for (const [hex, size] of chunksOf(m)) {
        const r = refs.get(hex);
        if (r) r.n++;
        else refs.set(hex, { n: 1, size });
        users.set(hex, [...(users.get(hex) ?? []), id]);
        if (m.keyId) encrypted.add(hex);
      }
    }
    const seen = new Set<string>();
    const corrupt = new Set<string>();
    const damaged = new Set<string>();
    for (const sub of await readdir(this.chunksDir)) {
      const subDir = join(this.chunksDir, sub);
      if (!(await stat(subDir)).isDirectory()) {
        await rm(subDir, { force: true });
        continue;
      }
      for (const name of await readdir(subDir)) {
        const file = join(subDir, name);
        const r = refs.get(name);
        if (!r || sub !== name.slice(0, 2)) {
          report.orphanChunksRemoved++;
          report.orphanBytesRemoved += (await stat(file)).size;
          await rm(file, { force: true });
          continue;
        }
        if (opts.verify) {
          const bytes = await readFile(file);
          const ok = bytes.length === r.size && (encrypted.has(name) || createHash('sha256').update(bytes).digest('hex') === name);
          if (!ok) {
            report.corruptChunks++;
            corrupt.add(name);
            for (const id of users.get(name) ?? []) damaged.add(id);
            await rm(file, { force: true });
            continue;
          }
        }
        seen.add(name);
      }
    }
    for (const hex of refs.keys()) {
      if (seen.has(hex) || corrupt.has(hex)) continue;
      report.missingChunks++;
      for (const id of users.get(hex) ?? []) damaged.add(id);
    }
    report.damagedSnapshots = [...damaged].sort();
    report.snapshots = manifests.size;
    report.chunks = refs.size;
    this.manifests = manifests;
    this.refs = refs;
    await this.persistIndex();
    return report;
  }
}
