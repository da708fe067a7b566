// SSH wire-format helpers shared by the key-pair crypto tests (src/services/ec2/key-pairs/crypto*.test.ts):
// building and reading key blobs and lines, and reading openssl's digests.
import { execFileSync } from 'node:child_process';
import { type KeyObject } from 'node:crypto';

export const sh = (cmd: string) => execFileSync('sh', ['-c', cmd], { encoding: 'utf8' });
/** The hex digest from `openssl <dgst> -c` output ("MD5(stdin)= aa:bb" or "(stdin)= aa:bb"). */
export const opensslDigest = (out: string) => /=\s*([0-9a-f:]+)\s*$/.exec(out.trim())![1];

export const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
export const str = (b: Buffer | string) => {
  const buf = typeof b === 'string' ? Buffer.from(b) : b;
  return Buffer.concat([u32(buf.length), buf]);
};
export const mpint = (mag: Buffer) => {
  let m = mag;
  while (m.length > 0 && m[0] === 0) m = m.subarray(1);
  if (m.length > 0 && (m[0]! & 0x80) !== 0) m = Buffer.concat([Buffer.from([0]), m]);
  return str(m);
};

export const b64u = (s: string | undefined) => Buffer.from(s!, 'base64url');
export const colonHex = (d: Buffer) => d.toString('hex').match(/../g)!.join(':');
export const SHA256_B64 = /^[A-Za-z0-9+/]{43}=$/;

export function sshRsaLineOf(pub: KeyObject, comment = ''): string {
  const jwk = pub.export({ format: 'jwk' });
  const blob = Buffer.concat([str('ssh-rsa'), mpint(b64u(jwk.e)), mpint(b64u(jwk.n))]);
  return `ssh-rsa ${blob.toString('base64')}${comment ? ` ${comment}` : ''}`;
}
export function sshEd25519LineOf(pub: KeyObject): string {
  const x = b64u(pub.export({ format: 'jwk' }).x);
  return `ssh-ed25519 ${Buffer.concat([str('ssh-ed25519'), str(x)]).toString('base64')}`;
}
export const blobOf = (line: string) => Buffer.from(line.split(' ')[1]!, 'base64');
