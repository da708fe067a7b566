// EBS snapshots: a content-addressed store of fixed-size chunks (512 KiB, like EBS), one store per
// region in a folder the caller names. A snapshot is a manifest: the volume's size and, for each
// chunk, the hash of its bytes or a marker for "all zero" (stored as nothing). A chunk is stored
// once whatever the number of snapshots that hold it, so a snapshot adds only what no other
// snapshot has; deleting one frees only the chunks no other manifest uses.
//
//   <dir>/manifests/<snap-id>.snap       a snapshot (binary header + 32 bytes per chunk + sha256 trailer)
//   <dir>/manifests/<snap-id>.deleting   a snapshot whose delete was interrupted (finished by init)
//   <dir>/chunks/<hh>/<hash>             a chunk, named by the sha256 of its bytes (HMAC when encrypted)
//   <dir>/refs.idx                       per chunk, how many manifests use it; a cache rebuilt by fsck()
//   <dir>/tmp/                           chunks being written and point-in-time clones (removed by init, fsck)
//
// On an XFS with reflink holding both the volume and the store (the volume store's), a snapshot is
// cheap three ways: the volume is reflink-cloned first (a point-in-time copy: the instance goes on
// writing), new chunks are reflinks of the clone's blocks (no data copied), and a chunk that still
// maps the very physical blocks of the parent snapshot's chunk file (FIEMAP) is unchanged without
// being read: blocks shared by two files hold the same bytes, because XFS copies a shared block
// before writing it and chunk files are never written. Anywhere else every data chunk is read and
// hashed; holes are skipped either way. A restore reflinks chunk files into the volume when it can.
//
// Crash safety: a chunk reaches its name only after its bytes are durable (temp + syncfs + rename),
// a manifest only after all its chunks (temp + fsync + rename, last), and the refcount index is a
// cache reconciled with the manifests on init. One process owns a store folder.
//
// Here: the operations (snapshot, restore, delete, copy, usage). chunks.ts holds the core they
// share (chunks, sessions, the refcount index, fsck), manifest.ts the formats, encryption.ts the
// keys and AES-GCM, extents.ts FIEMAP and xfs_io, types.ts the public shapes.
import { constants } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { copyFile, link, open, readFile, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { run } from '../exec.js';
import { checkName, exists } from '../paths.js';
import { ChunkStore, type Session } from './chunks.js';
import { pool } from './concurrency.js';
import { address, decrypt, deriveKeys, encrypt, ENCRYPTION_OVERHEAD, type Keys } from './encryption.js';
import { batches, clip, fiemapFile, fiemapMany, hasData, piecesByChunk, sameBlocks, xfsIo } from './extents.js';
import { fsyncPath, readFully } from './io.js';
import { chunkCount, chunkLength, chunksOf, HASH, infoOf, ZERO_HASH, type Manifest } from './manifest.js';
import {
  SnapshotNotFoundError,
  type BlockStep,
  type CopyOptions,
  type DeleteStats,
  type ProgressFn,
  type RestoreOptions,
  type RestoreStats,
  type SnapshotOptions,
  type SnapshotStats,
  type SnapshotUsage,
  type StoreUsage,
} from './types.js';

function progress(step: BlockStep, snapshotId: string, total: number, fn: ProgressFn | undefined): (add: number) => void {
  let done = 0;
  let told = -1;
  if (fn) fn({ step, snapshotId, done: 0, total });
  return (add) => {
    done += add;
    if (!fn || (done - told < total / 100 && done < total)) return;
    told = done;
    fn({ step, snapshotId, done, total });
  };
}

export class BlockStore extends ChunkStore {
  // --- the operations ---------------------------------------------------------------------

  /**
   * Snapshot a raw volume file. Idempotent: a snapshot that exists is left as it is. With parent
   * (the previous snapshot of the same volume, in this store), chunks whose blocks the volume
   * still shares with the parent's chunk files are taken as they are, without reading them.
   */
  async snapshot(snapshotId: string, volumeFile: string, opts: SnapshotOptions = {}): Promise<SnapshotStats> {
    checkName('snapshot id', snapshotId);
    if (opts.parent !== undefined) checkName('snapshot id', opts.parent);
    const keys = opts.key ? deriveKeys(opts.key) : undefined;
    await this.init();
    return this.gate.withShared(() =>
      this.locks.run(snapshotId, async () => {
        const t0 = performance.now();
        const stats: SnapshotStats = {
          snapshotId,
          sizeBytes: 0,
          chunksTotal: 0,
          chunksZero: 0,
          chunksUnchanged: 0,
          chunksRead: 0,
          bytesRead: 0,
          chunksWritten: 0,
          bytesWritten: 0,
          chunksReflinked: 0,
          pointInTime: false,
          parentUsed: false,
          existed: false,
          ms: 0,
        };
        const existing = await this.readManifestMaybe(snapshotId);
        if (existing) {
          const info = infoOf(existing);
          return { ...stats, sizeBytes: info.sizeBytes, chunksTotal: info.chunks, chunksZero: info.zeroChunks, existed: true, ms: performance.now() - t0 };
        }
        const s = this.session();
        let clone: string | undefined;
        try {
          clone = await this.pointInTimeClone(snapshotId, volumeFile);
          stats.pointInTime = clone !== undefined;
          const source = clone ? join(this.tmpDir, clone) : resolve(volumeFile);
          const fh = await open(source, 'r');
          try {
            const st = await fh.stat();
            if (!st.isFile()) throw new Error(`${volumeFile} is not a regular file`);
            const size = st.size;
            const chunkSize = this.chunkSize;
            const n = chunkCount(size, chunkSize);
            stats.sizeBytes = size;
            stats.chunksTotal = n;
            const hashes = Buffer.alloc(n * HASH);
            const tick = progress('snapshot', snapshotId, size, opts.onProgress);
            const len = (i: number) => Math.min(chunkSize, size - i * chunkSize);

            // Holes (and, in a clone, unwritten extents) are zero chunks without reading.
            const extents = await fiemapFile(source);
            const pieces = extents && piecesByChunk(extents, size, chunkSize);
            let toRead: number[] = [];
            for (let i = 0; i < n; i++) {
              if (pieces && !hasData(pieces[i], clone !== undefined)) {
                stats.chunksZero++;
                tick(len(i));
              } else toRead.push(i);
            }

            // Chunks mapping the same blocks as the parent's chunk file hold its bytes.
            const parent = opts.parent ? await this.readManifestMaybe(opts.parent) : undefined;
            if (parent && clone && pieces && !keys && !parent.keyId && parent.chunkSize === chunkSize) {
              const candidates = new Map<string, number[]>();
              for (const i of toRead) {
                if (i * chunkSize >= parent.size || chunkLength(parent, i) !== len(i)) continue;
                const h = parent.hashes.subarray(i * HASH, (i + 1) * HASH);
                if (h.equals(ZERO_HASH)) continue;
                const hex = h.toString('hex');
                this.pin(s, hex);
                candidates.set(hex, [...(candidates.get(hex) ?? []), i]);
              }
              for (const hex of candidates.keys()) {
                const removal = this.removing.get(hex);
                if (removal) await removal.catch(() => undefined);
              }
              const maps = await fiemapMany(
                this.dir,
                [...candidates.keys()].map((hex) => this.chunkName(hex)),
              );
              const unchanged = new Set<number>();
              for (const [hex, idxs] of candidates) {
                const file = maps?.get(this.chunkName(hex));
                if (!file) continue;
                const filePieces = clip(file, 0, chunkSize);
                for (const i of idxs) {
                  if (!sameBlocks(pieces[i], filePieces)) continue;
                  unchanged.add(i);
                  parent.hashes.copy(hashes, i * HASH, i * HASH, (i + 1) * HASH);
                  stats.chunksUnchanged++;
                  tick(len(i));
                }
              }
              stats.parentUsed = true;
              toRead = toRead.filter((i) => !unchanged.has(i));
            }

            // The rest is read and hashed; new chunks are reflinked from the clone or written.
            const reflink = clone !== undefined && !keys;
            if (reflink) {
              s.clone = clone;
              s.reread = async (off, l) => {
                const b = Buffer.alloc(l);
                await readFully(fh, b, off);
                return b;
              };
            }
            const buffers: Buffer[] = [];
            await pool(toRead, this.concurrency, async (i) => {
              const buf = buffers.pop() ?? Buffer.allocUnsafe(chunkSize);
              try {
                await this.snapshotChunk(s, fh, buf.subarray(0, len(i)), i * chunkSize, keys, reflink, hashes, stats);
              } finally {
                buffers.push(buf);
              }
              tick(len(i));
            });
            await this.flush(s);
            stats.chunksReflinked = s.reflinked;
            await this.commit(s, { snapshotId, size, chunkSize, parent: opts.parent, keyId: keys?.id, createdAt: new Date().toISOString(), hashes });
          } finally {
            await fh.close();
          }
        } catch (e) {
          await this.end(s, e);
          throw e;
        } finally {
          if (clone) await rm(join(this.tmpDir, clone), { force: true });
        }
        stats.ms = performance.now() - t0;
        return stats;
      }),
    );
  }

  /** Read one chunk, hash it, and store it unless the store has it. */
  private async snapshotChunk(
    s: Session,
    fh: FileHandle,
    data: Buffer,
    off: number,
    keys: Keys | undefined,
    reflink: boolean,
    hashes: Buffer,
    stats: SnapshotStats,
  ): Promise<void> {
    await readFully(fh, data, off);
    stats.chunksRead++;
    stats.bytesRead += data.length;
    if (data.equals(this.zeros.subarray(0, data.length))) {
      stats.chunksZero++;
      return;
    }
    const h = address(data, keys);
    h.copy(hashes, (off / this.chunkSize) * HASH);
    const hex = h.toString('hex');
    if ((await this.claim(s, hex)) !== 'write') return;
    const tmp = `${randomBytes(8).toString('hex')}.chunk`;
    if (reflink && off % this.blockSize === 0 && data.length % this.blockSize === 0) {
      this.add(s, { hash: hex, tmp, bytes: data.length, reflink: { off, len: data.length } });
    } else {
      const payload = keys ? encrypt(data, h, keys) : data;
      await writeFile(join(this.tmpDir, tmp), payload);
      this.add(s, { hash: hex, tmp, bytes: payload.length });
    }
    stats.chunksWritten++;
    stats.bytesWritten += keys ? data.length + ENCRYPTION_OVERHEAD : data.length;
    if (this.full(s)) await this.flush(s);
  }

  /** A reflink clone of the volume in tmp/ (its name), when the volume is on this store's reflink filesystem. */
  private async pointInTimeClone(snapshotId: string, volumeFile: string): Promise<string | undefined> {
    if (!this.reflinks) return undefined;
    const st = await stat(volumeFile);
    if (st.dev !== this.dev) return undefined;
    const name = `${snapshotId}-${randomBytes(4).toString('hex')}.clone`;
    try {
      await copyFile(volumeFile, join(this.tmpDir, name), constants.COPYFILE_FICLONE_FORCE);
      return name;
    } catch {
      await rm(join(this.tmpDir, name), { force: true });
      return undefined;
    }
  }

  /**
   * Write the snapshot into a new volume file of sizeBytes (at least the snapshot's size): zero
   * chunks stay holes; on this store's filesystem, data chunks are reflinked (copy-on-write),
   * elsewhere copied and checked against their hash. The file appears whole or not at all.
   */
  async restore(snapshotId: string, volumeFile: string, sizeBytes: number, opts: RestoreOptions = {}): Promise<RestoreStats> {
    checkName('snapshot id', snapshotId);
    await this.init();
    return this.gate.withShared(() =>
      this.locks.run(snapshotId, async () => {
        const t0 = performance.now();
        const m = await this.readManifest(snapshotId);
        const keys = this.keysFor(m, opts.key);
        if (!Number.isSafeInteger(sizeBytes) || sizeBytes < m.size) throw new Error(`cannot restore ${snapshotId} (${m.size} bytes) into ${sizeBytes} bytes`);
        const target = resolve(volumeFile);
        if (await exists(target)) throw new Error(`${target} already exists`);
        const tmp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
        const stats: RestoreStats = { sizeBytes, chunksReflinked: 0, chunksCopied: 0, chunksZero: 0, bytesCopied: 0, ms: 0 };
        const n = chunkCount(m.size, m.chunkSize);
        const tick = progress('restore', snapshotId, m.size, opts.onProgress);
        const fh = await open(tmp, 'wx');
        try {
          await fh.truncate(sizeBytes);
          const data: number[] = [];
          for (let i = 0; i < n; i++) {
            if (m.hashes.subarray(i * HASH, (i + 1) * HASH).equals(ZERO_HASH)) {
              stats.chunksZero++;
              tick(chunkLength(m, i));
            } else data.push(i);
          }
          let rest = data;
          if (!keys && this.reflinks && (await stat(dirname(tmp))).dev === this.dev) {
            const linked = await this.reflinkInto(tmp, m, data);
            stats.chunksReflinked = linked.size;
            for (const i of linked) tick(chunkLength(m, i));
            rest = data.filter((i) => !linked.has(i));
          }
          await pool(rest, this.concurrency, async (i) => {
            const h = m.hashes.subarray(i * HASH, (i + 1) * HASH);
            const bytes = await this.readChunk(h, keys, chunkLength(m, i));
            await fh.write(bytes, 0, bytes.length, i * m.chunkSize);
            stats.chunksCopied++;
            stats.bytesCopied += bytes.length;
            tick(bytes.length);
          });
          await fh.sync();
        } catch (e) {
          await fh.close();
          await rm(tmp, { force: true });
          throw e;
        }
        await fh.close();
        try {
          await link(tmp, target); // never over a file that appeared meanwhile
        } finally {
          await rm(tmp, { force: true });
        }
        await fsyncPath(dirname(target));
        stats.ms = performance.now() - t0;
        return stats;
      }),
    );
  }

  /**
   * Write the snapshot over the first bytes of an existing file of at least its size (the plaintext
   * of an encrypted volume, exported by qemu-storage-daemon as a FUSE file, where nothing can be
   * reflinked): data chunks are copied, and runs of zero chunks are written as zeros (fallocate
   * --zero-range, else zero buffers) unless the file is known to read as zeros (fresh). Not atomic: the caller builds
   * the volume under a temporary name.
   */
  async restoreInto(
    snapshotId: string,
    file: string,
    opts: RestoreOptions & { /** The file reads as zeros already (a new volume): zero chunks are skipped. */ fresh?: boolean } = {},
  ): Promise<RestoreStats> {
    checkName('snapshot id', snapshotId);
    await this.init();
    return this.gate.withShared(() =>
      this.locks.run(snapshotId, async () => {
        const t0 = performance.now();
        const m = await this.readManifest(snapshotId);
        const keys = this.keysFor(m, opts.key);
        const fh = await open(file, 'r+');
        try {
          const size = (await fh.stat()).size;
          if (size < m.size) throw new Error(`cannot restore ${snapshotId} (${m.size} bytes) into ${file} (${size} bytes)`);
          const stats: RestoreStats = { sizeBytes: size, chunksReflinked: 0, chunksCopied: 0, chunksZero: 0, bytesCopied: 0, ms: 0 };
          const n = chunkCount(m.size, m.chunkSize);
          const tick = progress('restore', snapshotId, m.size, opts.onProgress);
          const data: number[] = [];
          const zeroRuns: [off: number, len: number][] = [];
          for (let i = 0; i < n; i++) {
            if (!m.hashes.subarray(i * HASH, (i + 1) * HASH).equals(ZERO_HASH)) {
              data.push(i);
              continue;
            }
            stats.chunksZero++;
            const off = i * m.chunkSize;
            const last = zeroRuns[zeroRuns.length - 1];
            if (last && last[0] + last[1] === off) last[1] += chunkLength(m, i);
            else zeroRuns.push([off, chunkLength(m, i)]);
          }
          const zeros = Buffer.alloc(Math.min(m.chunkSize * 16, 8 << 20));
          for (const [off, len] of opts.fresh ? [] : zeroRuns) {
            const ok = await run('fallocate', ['--zero-range', '-o', String(off), '-l', String(len), file]).then(
              () => true,
              () => false,
            );
            for (let done = 0; !ok && done < len;) {
              const l = Math.min(zeros.length, len - done);
              await fh.write(zeros, 0, l, off + done);
              done += l;
            }
            tick(len);
          }
          if (opts.fresh) tick(zeroRuns.reduce((t, [, len]) => t + len, 0));
          await pool(data, this.concurrency, async (i) => {
            const bytes = await this.readChunk(m.hashes.subarray(i * HASH, (i + 1) * HASH), keys, chunkLength(m, i));
            await fh.write(bytes, 0, bytes.length, i * m.chunkSize);
            stats.chunksCopied++;
            stats.bytesCopied += bytes.length;
            tick(bytes.length);
          });
          await fh.sync();
          stats.ms = performance.now() - t0;
          return stats;
        } finally {
          await fh.close();
        }
      }),
    );
  }

  /** Reflink chunk files into place; the chunks that took (an xfs_io line each: "linked 524288/524288 bytes at offset 1048576"). */
  private async reflinkInto(file: string, m: Manifest, chunks: number[]): Promise<Set<number>> {
    const linked = new Set<number>();
    const aligned = chunks.filter((i) => (i * m.chunkSize) % this.blockSize === 0 && chunkLength(m, i) % this.blockSize === 0);
    const cmd = (i: number) => `reflink ${this.chunkName(m.hashes.toString('hex', i * HASH, (i + 1) * HASH))} 0 ${i * m.chunkSize} ${chunkLength(m, i)}`;
    const byOffset = new Map(aligned.map((i) => [i * m.chunkSize, i]));
    for (const batch of batches(aligned.map((i) => [cmd(i)]))) {
      const r = await xfsIo(this.dir, [], batch, [file]);
      if (!r) return linked;
      for (const match of r.stdout.matchAll(/^linked (\d+)\/(\d+) bytes at offset (\d+)$/gm)) {
        const i = byOffset.get(Number(match[3]));
        if (i !== undefined && Number(match[1]) === chunkLength(m, i) && match[1] === match[2]) linked.add(i);
      }
      if (!linked.size) return linked; // the first batch took nothing: copy the rest
    }
    return linked;
  }

  private keysFor(m: Manifest, key: Buffer | undefined): Keys | undefined {
    if (!m.keyId) return undefined;
    if (!key) throw new Error(`snapshot ${m.snapshotId} is encrypted: its key is needed`);
    const keys = deriveKeys(key);
    if (keys.id !== m.keyId) throw new Error(`snapshot ${m.snapshotId} is encrypted with another key`);
    return keys;
  }

  /** A chunk's plaintext, checked: by its hash when plain, by GCM when encrypted. */
  private async readChunk(h: Buffer, keys: Keys | undefined, len: number): Promise<Buffer> {
    const hex = h.toString('hex');
    const raw = await readFile(this.chunkPath(hex));
    const bytes = keys ? decrypt(raw, h, keys) : raw;
    if (bytes.length !== len || (!keys && !createHash('sha256').update(bytes).digest().equals(h))) throw new Error(`chunk ${hex} is damaged`);
    return bytes;
  }

  /**
   * Delete a snapshot; the chunks no other snapshot uses are freed. Deleting a missing snapshot
   * succeeds. The manifest is renamed <id>.deleting first: an interrupted delete is finished by init.
   */
  async delete(snapshotId: string): Promise<DeleteStats> {
    checkName('snapshot id', snapshotId);
    await this.init();
    return this.gate.withShared(() =>
      this.locks.run(snapshotId, async () => {
        const m = await this.readManifestMaybe(snapshotId);
        if (!m) return { existed: false, chunksFreed: 0, bytesFreed: 0 };
        const deleting = join(this.manifestsDir, `${snapshotId}.deleting`);
        await rename(this.manifestPath(snapshotId), deleting);
        await fsyncPath(this.manifestsDir);
        const freed = this.dropRefs(snapshotId, m);
        const removals: Promise<void>[] = [];
        for (const hex of freed.keys()) {
          // A chunk an operation in progress holds goes when it lets go, if nothing took it by then.
          if (!this.pins.has(hex) && !this.inflight.has(hex)) removals.push(this.remove(hex));
        }
        await Promise.all(removals);
        await this.persistIndex();
        await rm(deleting, { force: true });
        let bytesFreed = 0;
        for (const size of freed.values()) bytesFreed += size;
        return { existed: true, chunksFreed: freed.size, bytesFreed };
      }),
    );
  }

  /**
   * Copy a snapshot into another store (another region's), copying only the chunks it lacks
   * (reflinked when both stores share a filesystem). Encrypted chunks travel as they are.
   * Returns the bytes copied; a snapshot the other store has already costs nothing.
   */
  async copyTo(other: BlockStore, snapshotId: string, opts: CopyOptions = {}): Promise<number> {
    const targetId = opts.targetId ?? snapshotId;
    checkName('snapshot id', snapshotId);
    checkName('snapshot id', targetId);
    if (other.dir === this.dir && targetId === snapshotId) throw new Error('copying a snapshot onto itself');
    await this.init();
    await other.init();
    return this.gate.withShared(() =>
      other.gate.withShared(() =>
        other.locks.run(targetId, async () => {
          if (await other.readManifestMaybe(targetId)) return 0;
          const src = this.session();
          const dst = other.session();
          let bytes = 0;
          try {
            const m = await this.readManifest(snapshotId);
            const chunks = chunksOf(m);
            for (const hex of chunks.keys()) this.pin(src, hex);
            if (!this.manifests.has(snapshotId)) throw new SnapshotNotFoundError(snapshotId); // deleted meanwhile
            let total = 0;
            for (const size of chunks.values()) total += size;
            const tick = progress('copy', snapshotId, total, opts.onProgress);
            await pool([...chunks], this.concurrency, async ([hex, size]) => {
              if ((await other.claim(dst, hex)) === 'write') {
                const tmp = `${randomBytes(8).toString('hex')}.chunk`;
                await copyFile(this.chunkPath(hex), join(other.tmpDir, tmp), constants.COPYFILE_FICLONE);
                other.add(dst, { hash: hex, tmp, bytes: size });
                bytes += size;
                if (other.full(dst)) await other.flush(dst);
              }
              tick(size);
            });
            await other.commit(dst, { ...m, snapshotId: targetId, createdAt: new Date().toISOString() });
          } catch (e) {
            await other.end(dst, e);
            throw e;
          } finally {
            await this.end(src);
          }
          return bytes;
        }),
      ),
    );
  }

  /** What the store holds, and what deleting each snapshot would free. */
  async usage(): Promise<StoreUsage> {
    await this.init();
    return this.gate.withShared(async () => {
      let bytes = 0;
      for (const r of this.refs.values()) bytes += r.size;
      const snapshots: SnapshotUsage[] = [];
      for (const id of [...this.manifests.keys()].sort()) {
        const m = await this.readManifestMaybe(id);
        if (!m) continue; // deleted meanwhile
        let uniqueChunks = 0;
        let uniqueBytes = 0;
        for (const [hex, size] of chunksOf(m)) {
          if (this.refs.get(hex)?.n !== 1) continue;
          uniqueChunks++;
          uniqueBytes += size;
        }
        snapshots.push({ ...infoOf(m), uniqueChunks, uniqueBytes });
      }
      return { chunks: this.refs.size, bytes, snapshots };
    });
  }
}
