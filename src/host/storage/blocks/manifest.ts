// Manifests and the refcount index: binary, with a sha256 trailer so a torn or damaged file is
// never taken for a good one.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { ENCRYPTION_OVERHEAD } from './encryption.js';
import { readFully } from './io.js';
import type { SnapshotInfo } from './types.js';

export const HASH = 32;
export const ZERO_HASH = Buffer.alloc(HASH);
const MANIFEST_MAGIC = Buffer.from('cumulo-snapshot 1\n');
const INDEX_MAGIC = Buffer.from('cumulo-refs 1\n');

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

export function chunkLength(m: { size: number; chunkSize: number }, i: number): number {
  return Math.min(m.chunkSize, m.size - i * m.chunkSize);
}

function withTrailer(parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}

function checkTrailer(buf: Buffer, magic: Buffer, what: string): Buffer {
  if (buf.length < magic.length + 4 + HASH || !buf.subarray(0, magic.length).equals(magic)) throw new Error(`${what}: not a cumulo file`);
  const body = buf.subarray(0, buf.length - HASH);
  if (
    !createHash('sha256')
      .update(body)
      .digest()
      .equals(buf.subarray(buf.length - HASH))
  )
    throw new Error(`${what}: checksum mismatch`);
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

export function digestOf(encoded: Buffer): string {
  return encoded.subarray(encoded.length - HASH).toString('hex');
}

/** The distinct non-zero chunks of a manifest, with their size on disk. */
export function chunksOf(m: Manifest): Map<string, number> {
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

export interface Ref {
  n: number;
  size: number;
}

export interface Index {
  manifests: Map<string, string>;
  refs: Map<string, Ref>;
}

export function encodeIndex(idx: Index): Buffer {
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

export function decodeIndex(buf: Buffer): Index {
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

export function infoOf(m: Manifest): SnapshotInfo {
  const n = chunkCount(m.size, m.chunkSize);
  let zeroChunks = 0;
  let dataBytes = 0;
  for (let i = 0; i < n; i++) {
    if (m.hashes.subarray(i * HASH, (i + 1) * HASH).equals(ZERO_HASH)) zeroChunks++;
    else dataBytes += chunkLength(m, i);
  }
  return {
    snapshotId: m.snapshotId,
    sizeBytes: m.size,
    chunkSize: m.chunkSize,
    chunks: n,
    zeroChunks,
    dataBytes,
    parent: m.parent,
    encrypted: m.keyId !== undefined,
    keyId: m.keyId,
    createdAt: m.createdAt,
  };
}

/** A manifest's digest (its trailer), without reading it all. */
export async function readDigest(file: string): Promise<string> {
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
