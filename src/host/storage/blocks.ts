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
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { copyFile, link, mkdir, open, readdir, readFile, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { run } from './exec.js';
import { KeyedLock } from './lock.js';
import { checkName, exists } from './paths.js';

export const DEFAULT_CHUNK_SIZE = 512 * 1024;
const HASH = 32;
const NONCE = 12;
const TAG = 16;
/** What AES-256-GCM adds to an encrypted chunk: its nonce and its tag. */
export const ENCRYPTION_OVERHEAD = NONCE + TAG;
const ZERO_HASH = Buffer.alloc(HASH);
const MANIFEST_MAGIC = Buffer.from('cumulo-snapshot 1\n');
const INDEX_MAGIC = Buffer.from('cumulo-refs 1\n');
/** Chunks written (or reflinked) between two syncs, and the bytes that may wait unsynced. */
const BATCH_CHUNKS = 1024;
const BATCH_BYTES = 256 * 1024 * 1024;

export type BlockStep = 'snapshot' | 'restore' | 'copy';
export interface BlockProgress {
  step: BlockStep;
  snapshotId: string;
  done: number;
  total: number;
}
export type ProgressFn = (p: BlockProgress) => void;

export interface BlockStoreOptions {
  /** The store's folder (one per region). */
  dir: string;
  /** Bytes per chunk for new snapshots (default 512 KiB; a multiple of 4096 keeps chunks reflinkable). Manifests carry their own. */
  chunkSize?: number;
  /** Chunks read, hashed or copied at once (default 4). */
  concurrency?: number;
}

export interface SnapshotOptions {
  /** The previous snapshot of the same volume: its chunks that the volume still shares are not read again. */
  parent?: string;
  /** 32 bytes, per account: chunks are encrypted at rest with AES-256-GCM and addressed by an HMAC under it. */
  key?: Buffer;
  onProgress?: ProgressFn;
}

export interface SnapshotStats {
  snapshotId: string;
  sizeBytes: number;
  chunksTotal: number;
  /** All-zero chunks (holes, or zeros read): stored as nothing. */
  chunksZero: number;
  /** Chunks known unchanged since the parent without reading them (shared blocks). */
  chunksUnchanged: number;
  chunksRead: number;
  bytesRead: number;
  /** Chunks this snapshot added to the store, and their bytes on disk: what it costs. */
  chunksWritten: number;
  bytesWritten: number;
  /** Of the chunks written, those made as reflinks of the volume's blocks. */
  chunksReflinked: number;
  /** The volume was cloned first: the snapshot is of one instant however long it takes. */
  pointInTime: boolean;
  parentUsed: boolean;
  /** The snapshot existed already (a retried create): nothing was done. */
  existed: boolean;
  ms: number;
}

export interface RestoreOptions {
  key?: Buffer;
  onProgress?: ProgressFn;
}

export interface RestoreStats {
  sizeBytes: number;
  chunksReflinked: number;
  chunksCopied: number;
  chunksZero: number;
  bytesCopied: number;
  ms: number;
}

export interface CopyOptions {
  /** The snapshot's id in the other store (default: the same; CopySnapshot makes a new one). */
  targetId?: string;
  onProgress?: ProgressFn;
}

export interface DeleteStats {
  existed: boolean;
  chunksFreed: number;
  bytesFreed: number;
}

export interface SnapshotInfo {
  snapshotId: string;
  sizeBytes: number;
  chunkSize: number;
  chunks: number;
  zeroChunks: number;
  /** Bytes of the non-zero chunks (logical). */
  dataBytes: number;
  parent?: string;
  encrypted: boolean;
  keyId?: string;
  createdAt: string;
}

export interface SnapshotUsage extends SnapshotInfo {
  /** Chunks only this snapshot uses, and their bytes on disk: what deleting it frees. */
  uniqueChunks: number;
  uniqueBytes: number;
}

export interface StoreUsage {
  chunks: number;
  bytes: number;
  snapshots: SnapshotUsage[];
}

export interface FsckOptions {
  /** Read every chunk and check it against its name (plaintext) or its size (encrypted). */
  verify?: boolean;
}

export interface FsckReport {
  tempFilesRemoved: number;
  orphanChunksRemoved: number;
  orphanBytesRemoved: number;
  /** Chunks that failed verification (removed: the next snapshot holding those bytes writes them again). */
  corruptChunks: number;
  /** Chunks a manifest needs that are not there. */
  missingChunks: number;
  /** Snapshots that lost a chunk: restoring them fails. */
  damagedSnapshots: string[];
  /** Manifests that failed their checksum: renamed <id>.corrupt, no longer listed. */
  corruptManifests: string[];
  interruptedDeletes: number;
  snapshots: number;
  chunks: number;
}

/** A snapshot that is not in the store. */
export class SnapshotNotFoundError extends Error {
  constructor(readonly snapshotId: string) {
    super(`snapshot ${snapshotId} is not in the block store`);
  }
}

// ---------------------------------------------------------------------------------------------
// Manifests and the refcount index: binary, with a sha256 trailer so a torn or damaged file is
// never taken for a good one.

export interface Manifest {
  snapshotId: string;
  size: number;
  chunkSize: number;
  parent?: string;
  keyId?: string;
  createdAt: string;
  /** 32 bytes per chunk; all zero for an all-zero chunk. */
  hashes: Buffer;
}

interface ManifestHeader {
  snapshotId: string;
  size: number;
  chunkSize: number;
  chunks: number;
  parent?: string;
  keyId?: string;
  createdAt: string;
}

export function chunkCount(size: number, chunkSize: number): number {
  return Math.ceil(size / chunkSize);
}

function chunkLength(m: { size: number; chunkSize: number }, i: number): number {
  return Math.min(m.chunkSize, m.size - i * m.chunkSize);
}

function withTrailer(parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}

function checkTrailer(buf: Buffer, magic: Buffer, what: string): Buffer {
  if (buf.length < magic.length + 4 + HASH || !buf.subarray(0, magic.length).equals(magic)) throw new Error(`${what}: not a cumulo file`);
  const body = buf.subarray(0, buf.length - HASH);
  if (!createHash('sha256').update(body).digest().equals(buf.subarray(buf.length - HASH))) throw new Error(`${what}: checksum mismatch`);
  return body;
}

function headerOf(body: Buffer, magic: Buffer): { header: unknown; rest: Buffer } {
  const len = body.readUInt32LE(magic.length);
  const start = magic.length + 4;
  return { header: JSON.parse(body.subarray(start, start + len).toString('utf8')), rest: body.subarray(start + len) };
}

function lengthPrefixed(json: unknown): Buffer[] {
  const header = Buffer.from(JSON.stringify(json));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(header.length);
  return [len, header];
}

export function encodeManifest(m: Manifest): Buffer {
  const n = chunkCount(m.size, m.chunkSize);
  if (m.hashes.length !== n * HASH) throw new Error(`manifest of ${m.snapshotId}: ${m.hashes.length / HASH} hashes for ${n} chunks`);
  const header: ManifestHeader = { snapshotId: m.snapshotId, size: m.size, chunkSize: m.chunkSize, chunks: n, createdAt: m.createdAt };
  if (m.parent) header.parent = m.parent;
  if (m.keyId) header.keyId = m.keyId;
  return withTrailer([MANIFEST_MAGIC, ...lengthPrefixed(header), m.hashes]);
}

export function decodeManifest(buf: Buffer, what = 'manifest'): Manifest {
  const body = checkTrailer(buf, MANIFEST_MAGIC, what);
  const { header, rest } = headerOf(body, MANIFEST_MAGIC);
  const h = header as ManifestHeader;
  if (rest.length !== h.chunks * HASH || h.chunks !== chunkCount(h.size, h.chunkSize)) throw new Error(`${what}: ${rest.length / HASH} hashes for ${h.chunks} chunks`);
  return { snapshotId: h.snapshotId, size: h.size, chunkSize: h.chunkSize, parent: h.parent, keyId: h.keyId, createdAt: h.createdAt, hashes: Buffer.from(rest) };
}

function digestOf(encoded: Buffer): string {
  return encoded.subarray(encoded.length - HASH).toString('hex');
}

/** The distinct non-zero chunks of a manifest, with their size on disk. */
function chunksOf(m: Manifest): Map<string, number> {
  const out = new Map<string, number>();
  const overhead = m.keyId ? ENCRYPTION_OVERHEAD : 0;
  const n = chunkCount(m.size, m.chunkSize);
  for (let i = 0; i < n; i++) {
    const h = m.hashes.subarray(i * HASH, (i + 1) * HASH);
    if (h.equals(ZERO_HASH)) continue;
    const hex = h.toString('hex');
    if (!out.has(hex)) out.set(hex, chunkLength(m, i) + overhead);
  }
  return out;
}

interface Ref {
  n: number;
  size: number;
}

interface Index {
  manifests: Map<string, string>;
  refs: Map<string, Ref>;
}

function encodeIndex(idx: Index): Buffer {
  const entries = Buffer.alloc(idx.refs.size * (HASH + 8));
  let o = 0;
  for (const [hex, r] of idx.refs) {
    entries.write(hex, o, 'hex');
    entries.writeUInt32LE(r.n, o + HASH);
    entries.writeUInt32LE(r.size, o + HASH + 4);
    o += HASH + 8;
  }
  return withTrailer([INDEX_MAGIC, ...lengthPrefixed({ manifests: Object.fromEntries(idx.manifests), chunks: idx.refs.size }), entries]);
}

function decodeIndex(buf: Buffer): Index {
  const body = checkTrailer(buf, INDEX_MAGIC, 'refcount index');
  const { header, rest } = headerOf(body, INDEX_MAGIC);
  const h = header as { manifests: Record<string, string>; chunks: number };
  if (rest.length !== h.chunks * (HASH + 8)) throw new Error('refcount index: wrong length');
  const refs = new Map<string, Ref>();
  for (let o = 0; o < rest.length; o += HASH + 8) {
    refs.set(rest.toString('hex', o, o + HASH), { n: rest.readUInt32LE(o + HASH), size: rest.readUInt32LE(o + HASH + 4) });
  }
  return { manifests: new Map(Object.entries(h.manifests)), refs };
}

// ---------------------------------------------------------------------------------------------
// Encryption: per-account key in, two subkeys out, so the address of a chunk (an HMAC) says
// nothing about the key that encrypts it and identical data of two accounts never shares a chunk.

interface Keys {
  id: string;
  mac: Buffer;
  enc: Buffer;
}

function deriveKeys(key: Buffer): Keys {
  if (key.length !== 32) throw new Error(`a snapshot key is 32 bytes, got ${key.length}`);
  const sub = (label: string) => createHmac('sha256', key).update(`cumulo-blocks/${label}`).digest();
  return { id: sub('key-id').subarray(0, 16).toString('hex'), mac: sub('address'), enc: sub('encrypt') };
}

function address(data: Buffer, keys: Keys | undefined): Buffer {
  return keys ? createHmac('sha256', keys.mac).update(data).digest() : createHash('sha256').update(data).digest();
}

/** nonce ‖ ciphertext ‖ tag; the chunk's address is the associated data (a chunk file moved under another name fails). */
function encrypt(data: Buffer, hash: Buffer, keys: Keys): Buffer {
  const nonce = randomBytes(NONCE);
  const c = createCipheriv('aes-256-gcm', keys.enc, nonce);
  c.setAAD(hash);
  return Buffer.concat([nonce, c.update(data), c.final(), c.getAuthTag()]);
}

function decrypt(buf: Buffer, hash: Buffer, keys: Keys): Buffer {
  if (buf.length < ENCRYPTION_OVERHEAD) throw new Error('encrypted chunk too short');
  const d = createDecipheriv('aes-256-gcm', keys.enc, buf.subarray(0, NONCE));
  d.setAAD(hash);
  d.setAuthTag(buf.subarray(buf.length - TAG));
  return Buffer.concat([d.update(buf.subarray(NONCE, buf.length - TAG)), d.final()]);
}

// ---------------------------------------------------------------------------------------------
// FIEMAP through xfs_io (which asks with FIEMAP_FLAG_SYNC, so dirty pages are on disk first).
// Its output, in 512-byte units:
//
//   chunks/3f/3f9a…:
//    EXT: FILE-OFFSET      BLOCK-RANGE      TOTAL FLAGS
//      0: [0..383]:        192..575           384 0x2000
//      1: [384..2047]:     hole              1664

export interface Extent {
  /** Bytes. */
  logical: number;
  physical: number;
  length: number;
  flags: number;
}

const FIEMAP_UNWRITTEN = 0x800;
/** UNKNOWN, DELALLOC, ENCODED, DATA_ENCRYPTED, NOT_ALIGNED, DATA_INLINE, DATA_TAIL: no physical address to compare. */
const FIEMAP_UNRELIABLE = 0x2 | 0x4 | 0x8 | 0x80 | 0x100 | 0x200 | 0x400;

/** Each file's data extents (holes left out), by the name xfs_io printed. */
export function parseFiemap(out: string): Map<string, Extent[]> {
  const files = new Map<string, Extent[]>();
  let current: Extent[] | undefined;
  for (const line of out.split('\n')) {
    const ext = /^\s*\d+: \[(\d+)\.\.(\d+)\]:\s+(?:(\d+)\.\.(\d+)\s+\d+\s+(0x[0-9a-f]+)|hole)/.exec(line);
    if (ext) {
      if (!current || ext[3] === undefined) continue;
      const logical = Number(ext[1]) * 512;
      current.push({ logical, physical: Number(ext[3]) * 512, length: (Number(ext[2]) + 1) * 512 - logical, flags: Number(ext[5]) });
      continue;
    }
    const header = /^(\S.*):$/.exec(line);
    if (header && !line.startsWith('[')) {
      current = [];
      files.set(header[1], current);
    }
  }
  return files;
}

/** The extents clipped to [off, off+len), relative to off, physically adjacent ones merged. */
export function clip(extents: Extent[], off: number, len: number): Extent[] {
  const out: Extent[] = [];
  for (const e of extents) {
    const a = Math.max(e.logical, off);
    const b = Math.min(e.logical + e.length, off + len);
    if (a >= b) continue;
    const piece = { logical: a - off, physical: e.physical + (a - e.logical), length: b - a, flags: e.flags };
    const last = out[out.length - 1];
    if (last && last.logical + last.length === piece.logical && last.physical + last.length === piece.physical && (last.flags & FIEMAP_UNWRITTEN) === (piece.flags & FIEMAP_UNWRITTEN) && !((last.flags | piece.flags) & FIEMAP_UNRELIABLE)) {
      last.length += piece.length;
    } else out.push(piece);
  }
  return out;
}

/** Whether [off, off+len) holds anything but holes (and, when they read as zeros for sure, unwritten extents). */
export function hasData(pieces: Extent[], unwrittenIsZero: boolean): boolean {
  return pieces.some((p) => !(unwrittenIsZero && p.flags & FIEMAP_UNWRITTEN && !(p.flags & FIEMAP_UNRELIABLE)));
}

/** Two ranges map the very same physical blocks (so, on one filesystem, hold the same bytes). */
export function sameBlocks(a: Extent[], b: Extent[]): boolean {
  if (!a.length || a.length !== b.length) return false;
  return a.every((x, i) => {
    const y = b[i];
    return (
      !((x.flags | y.flags) & FIEMAP_UNRELIABLE) &&
      x.logical === y.logical &&
      x.physical === y.physical &&
      x.length === y.length &&
      (x.flags & FIEMAP_UNWRITTEN) === (y.flags & FIEMAP_UNWRITTEN)
    );
  });
}

/** Each chunk's pieces of a sorted extent list, in one pass. */
function piecesByChunk(extents: Extent[], size: number, chunkSize: number): Extent[][] {
  const n = chunkCount(size, chunkSize);
  const out: Extent[][] = Array.from({ length: n }, () => []);
  for (const e of [...extents].sort((x, y) => x.logical - y.logical)) {
    const first = Math.floor(e.logical / chunkSize);
    const last = Math.min(n - 1, Math.floor((e.logical + e.length - 1) / chunkSize));
    for (let i = first; i <= last; i++) {
      const off = i * chunkSize;
      out[i].push(...clip([e], off, Math.min(chunkSize, size - off)));
    }
  }
  return out.map((pieces) => clip(pieces, 0, chunkSize));
}

interface XfsIoResult {
  stdout: string;
  stderr: string;
  code: number;
}

/**
 * xfs_io running commands (-c each: faster than stdin, which it reads a byte at a time) in cwd, so
 * that paths need no quoting (it splits commands on blanks). Undefined when xfs_io is missing.
 */
function xfsIo(cwd: string, args: string[], commands: string[], files: string[] = []): Promise<XfsIoResult | undefined> {
  return new Promise((resolvePromise, reject) => {
    const argv = [...args, ...commands.flatMap((c) => ['-c', c]), ...files];
    const child = spawn('xfs_io', argv, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? resolvePromise(undefined) : reject(e)));
    child.on('close', (code) => resolvePromise({ stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), code: code ?? -1 }));
  });
}

/** Split commands into runs whose arguments stay well under the kernel's limit (ARG_MAX, 2 MiB here). */
function batches(commands: string[][], budget = 512 * 1024): string[][] {
  const out: string[][] = [];
  let cur: string[] = [];
  let size = 0;
  for (const group of commands) {
    const len = group.reduce((a, c) => a + c.length + 4, 0);
    if (cur.length && size + len > budget) {
      out.push(cur);
      cur = [];
      size = 0;
    }
    cur.push(...group);
    size += len;
  }
  if (cur.length) out.push(cur);
  return out;
}

/** FIEMAP of files named relative to cwd (names without whitespace): each file's extents; missing files are absent. */
async function fiemapMany(cwd: string, names: string[]): Promise<Map<string, Extent[]> | undefined> {
  const all = new Map<string, Extent[]>();
  for (const batch of batches(names.map((n) => [`open -r ${n}`, 'fiemap -v', 'close']))) {
    const r = await xfsIo(cwd, ['-r'], batch);
    if (!r) return undefined;
    for (const [name, extents] of parseFiemap(r.stdout)) all.set(name, extents);
  }
  return all;
}

/** FIEMAP of one file (any path); undefined when it cannot be had. */
async function fiemapFile(file: string): Promise<Extent[] | undefined> {
  const r = await xfsIo(dirname(file), ['-r'], ['fiemap -v'], [file]).catch(() => undefined);
  if (!r || r.code !== 0) return undefined;
  const files = parseFiemap(r.stdout);
  return files.size === 1 ? [...files.values()][0] : undefined;
}

// ---------------------------------------------------------------------------------------------
// Small helpers.

async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Make what was written under dir durable: syncfs of its filesystem, else fsync of each path given (files, or folders for renames). */
async function syncFs(dir: string, paths: string[]): Promise<void> {
  try {
    await run('sync', ['-f', dir]);
  } catch {
    for (const p of paths) await fsyncPath(p);
  }
}

async function readFully(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await fh.read(buf, done, buf.length - done, position + done);
    if (bytesRead === 0) throw new Error(`unexpected end of file at ${position + done}`);
    done += bytesRead;
  }
}

/** Run fn over items, n at a time; after a failure no new item starts, and it returns once all running ones are done. */
async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      try {
        await fn(items[next++]);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: Math.min(n, items.length) }, worker));
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;
}

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

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (e: unknown) => void;
}

function deferred(): Deferred {
  let resolveFn!: () => void;
  let rejectFn!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolveFn = res;
    rejectFn = rej;
  });
  promise.catch(() => undefined); // awaited by whoever depends on it; never an unhandled rejection
  return { promise, resolve: resolveFn, reject: rejectFn };
}

/** Shared holders run together; fsck runs alone. Shared never waits for a waiting exclusive (no cross-store deadlock). */
class Gate {
  private shared = 0;
  private exclusive = false;
  private waiters: (() => void)[] = [];

  async withShared<T>(fn: () => Promise<T>): Promise<T> {
    while (this.exclusive) await new Promise<void>((r) => this.waiters.push(r));
    this.shared++;
    try {
      return await fn();
    } finally {
      this.shared--;
      this.wake();
    }
  }

  async withExclusive<T>(fn: () => Promise<T>): Promise<T> {
    while (this.exclusive || this.shared) await new Promise<void>((r) => this.waiters.push(r));
    this.exclusive = true;
    try {
      return await fn();
    } finally {
      this.exclusive = false;
      this.wake();
    }
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

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
interface Session {
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

// ---------------------------------------------------------------------------------------------

export class BlockStore {
  readonly dir: string;
  readonly chunkSize: number;
  private readonly concurrency: number;
  private readonly manifestsDir: string;
  private readonly chunksDir: string;
  private readonly tmpDir: string;
  private readonly indexFile: string;
  private ready?: Promise<void>;
  private readonly gate = new Gate();
  private readonly locks = new KeyedLock();
  /** Committed manifests (id → digest) and the chunks they use: what refs.idx holds. */
  private manifests = new Map<string, string>();
  private refs = new Map<string, Ref>();
  private readonly pins = new Map<string, number>();
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly removing = new Map<string, Promise<void>>();
  private readonly madeDirs = new Set<string>();
  private indexWrite: Promise<void> = Promise.resolve();
  private indexQueued?: Promise<void>;
  private reflinks = false;
  private dev = -1;
  private blockSize = 4096;
  private readonly zeros: Buffer;

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
  private dropRefs(id: string, m: Manifest): Map<string, number> {
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
  private persistIndex(): Promise<void> {
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

  private chunkName(hex: string): string {
    return `chunks/${hex.slice(0, 2)}/${hex}`;
  }

  private chunkPath(hex: string): string {
    return join(this.dir, this.chunkName(hex));
  }

  private session(): Session {
    return { pinned: new Set(), batch: [], batchBytes: 0, writing: new Map(), deps: new Map(), reflinked: 0, dirs: new Set() };
  }

  private pin(s: Session, hex: string): void {
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

  private remove(hex: string): Promise<void> {
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
  private async claim(s: Session, hex: string): Promise<'present' | 'write'> {
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

  private add(s: Session, chunk: PendingChunk): void {
    s.batch.push(chunk);
    s.batchBytes += chunk.bytes;
  }

  private full(s: Session): boolean {
    return s.batch.length >= BATCH_CHUNKS || s.batchBytes >= BATCH_BYTES;
  }

  /** Make the session's pending chunks durable and give them their names. */
  private async flush(s: Session): Promise<void> {
    const batch = s.batch;
    s.batch = [];
    s.batchBytes = 0;
    if (!batch.length) return;
    try {
      const refl = batch.filter((c) => c.reflink);
      if (refl.length) await this.reflinkChunks(s, refl);
      await syncFs(this.tmpDir, batch.map((c) => join(this.tmpDir, c.tmp)));
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
  private async commit(s: Session, m: Manifest): Promise<void> {
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
  private async end(s: Session, error?: unknown): Promise<void> {
    for (const c of s.batch) await rm(join(this.tmpDir, c.tmp), { force: true });
    s.batch = [];
    for (const hex of [...s.writing.keys()]) this.settle(s, hex, error ?? new Error('aborted'));
    for (const hex of s.pinned) this.unpin(hex);
    s.pinned.clear();
  }

  // --- manifests --------------------------------------------------------------------------

  private manifestPath(id: string): string {
    return join(this.manifestsDir, `${id}.snap`);
  }

  private async readManifestMaybe(id: string): Promise<Manifest | undefined> {
    try {
      return decodeManifest(await readFile(this.manifestPath(id)), `manifest of ${id}`);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  private async readManifest(id: string): Promise<Manifest> {
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
          snapshotId, sizeBytes: 0, chunksTotal: 0, chunksZero: 0, chunksUnchanged: 0, chunksRead: 0, bytesRead: 0,
          chunksWritten: 0, bytesWritten: 0, chunksReflinked: 0, pointInTime: false, parentUsed: false, existed: false, ms: 0,
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
              const maps = await fiemapMany(this.dir, [...candidates.keys()].map((hex) => this.chunkName(hex)));
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
  private async snapshotChunk(s: Session, fh: FileHandle, data: Buffer, off: number, keys: Keys | undefined, reflink: boolean, hashes: Buffer, stats: SnapshotStats): Promise<void> {
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
  async restoreInto(snapshotId: string, file: string, opts: RestoreOptions & { /** The file reads as zeros already (a new volume): zero chunks are skipped. */ fresh?: boolean } = {}): Promise<RestoreStats> {
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
            const ok = await run('fallocate', ['--zero-range', '-o', String(off), '-l', String(len), file]).then(() => true, () => false);
            for (let done = 0; !ok && done < len; ) {
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
      tempFilesRemoved: await this.clearTmp(), orphanChunksRemoved: 0, orphanBytesRemoved: 0, corruptChunks: 0, missingChunks: 0,
      damagedSnapshots: [], corruptManifests: [], interruptedDeletes: 0, snapshots: 0, chunks: 0,
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

function infoOf(m: Manifest): SnapshotInfo {
  const n = chunkCount(m.size, m.chunkSize);
  let zeroChunks = 0;
  let dataBytes = 0;
  for (let i = 0; i < n; i++) {
    if (m.hashes.subarray(i * HASH, (i + 1) * HASH).equals(ZERO_HASH)) zeroChunks++;
    else dataBytes += chunkLength(m, i);
  }
  return {
    snapshotId: m.snapshotId, sizeBytes: m.size, chunkSize: m.chunkSize, chunks: n, zeroChunks, dataBytes,
    parent: m.parent, encrypted: m.keyId !== undefined, keyId: m.keyId, createdAt: m.createdAt,
  };
}

/** A manifest's digest (its trailer), without reading it all. */
async function readDigest(file: string): Promise<string> {
  const fh = await open(file, 'r');
  try {
    const { size } = await fh.stat();
    const buf = Buffer.alloc(HASH);
    if (size < HASH) return '';
    await readFully(fh, buf, size - HASH);
    return buf.toString('hex');
  } finally {
    await fh.close();
  }
}
