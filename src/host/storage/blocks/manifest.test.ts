import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeManifest, encodeManifest } from './manifest.js';

const CHUNK = 16 * 1024;

describe('manifests', () => {
  it('encode and decode, and a flipped bit is caught', () => {
    const hashes = Buffer.concat([randomBytes(32), Buffer.alloc(32), randomBytes(32)]);
    const m = { snapshotId: 'snap-m', size: 3 * CHUNK - 7, chunkSize: CHUNK, parent: 'snap-p', createdAt: '2025-01-01T00:00:00.000Z', hashes };
    const enc = encodeManifest(m);
    expect(decodeManifest(enc)).toEqual({ ...m, keyId: undefined });
    enc[enc.length - 50] ^= 1;
    expect(() => decodeManifest(enc)).toThrow(/checksum/);
    expect(() => encodeManifest({ ...m, size: 10 * CHUNK })).toThrow(/hashes for 10 chunks/);
  });
});
