// FIEMAP through xfs_io (which asks with FIEMAP_FLAG_SYNC, so dirty pages are on disk first).
// Its output, in 512-byte units:
//
//   chunks/3f/3f9a…:
//    EXT: FILE-OFFSET      BLOCK-RANGE      TOTAL FLAGS
//      0: [0..383]:        192..575           384 0x2000
//      1: [384..2047]:     hole              1664
import { spawn } from 'node:child_process';
import { dirname } from 'node:path';
import { chunkCount } from './manifest.js';

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
    if (
      last &&
      last.logical + last.length === piece.logical &&
      last.physical + last.length === piece.physical &&
      (last.flags & FIEMAP_UNWRITTEN) === (piece.flags & FIEMAP_UNWRITTEN) &&
      !((last.flags | piece.flags) & FIEMAP_UNRELIABLE)
    ) {
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
export function piecesByChunk(extents: Extent[], size: number, chunkSize: number): Extent[][] {
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
export function xfsIo(cwd: string, args: string[], commands: string[], files: string[] = []): Promise<XfsIoResult | undefined> {
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
export function batches(commands: string[][], budget = 512 * 1024): string[][] {
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
export async function fiemapMany(cwd: string, names: string[]): Promise<Map<string, Extent[]> | undefined> {
  const all = new Map<string, Extent[]>();
  for (const batch of batches(names.map((n) => [`open -r ${n}`, 'fiemap -v', 'close']))) {
    const r = await xfsIo(cwd, ['-r'], batch);
    if (!r) return undefined;
    for (const [name, extents] of parseFiemap(r.stdout)) all.set(name, extents);
  }
  return all;
}

/** FIEMAP of one file (any path); undefined when it cannot be had. */
export async function fiemapFile(file: string): Promise<Extent[] | undefined> {
  const r = await xfsIo(dirname(file), ['-r'], ['fiemap -v'], [file]).catch(() => undefined);
  if (!r || r.code !== 0) return undefined;
  const files = parseFiemap(r.stdout);
  return files.size === 1 ? [...files.values()][0] : undefined;
}
