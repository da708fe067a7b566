// IMDSv2 session tokens, stateless: base64 of [version 1][expiry, u32 seconds][HMAC-SHA256 over
// version, expiry and the instance id, with the server's secret]. Nothing to store or expire; a
// token is worthless to any other instance, and cannot be made without the secret.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const MAX_TOKEN_TTL = 21600;
const VERSION = 1;
const LENGTH = 1 + 4 + 32;

export class TokenSigner {
  constructor(private readonly secret: Buffer = randomBytes(32)) {
    if (secret.length < 16) throw new Error('token secret too short');
  }

  private mac(instanceId: string, expiry: number): Buffer {
    const head = Buffer.alloc(5);
    head.writeUInt8(VERSION, 0);
    head.writeUInt32BE(expiry, 1);
    return createHmac('sha256', this.secret).update(head).update(instanceId).digest();
  }

  issue(instanceId: string, ttlSeconds: number, now = Date.now()): string {
    const expiry = Math.floor(now / 1000) + ttlSeconds;
    const out = Buffer.alloc(LENGTH);
    out.writeUInt8(VERSION, 0);
    out.writeUInt32BE(expiry, 1);
    this.mac(instanceId, expiry).copy(out, 5);
    return out.toString('base64');
  }

  /** Seconds the token has left for this instance, or undefined when it is not one of ours, not this instance's, or expired. */
  remaining(token: string, instanceId: string, now = Date.now()): number | undefined {
    if (token.length > 128 || !/^[A-Za-z0-9+/]+={0,2}$/.test(token)) return undefined;
    const raw = Buffer.from(token, 'base64');
    if (raw.length !== LENGTH || raw.readUInt8(0) !== VERSION) return undefined;
    const expiry = raw.readUInt32BE(1);
    if (!timingSafeEqual(raw.subarray(5), this.mac(instanceId, expiry))) return undefined;
    const left = expiry - Math.floor(now / 1000);
    return left > 0 ? left : undefined;
  }
}

/** X-aws-ec2-metadata-token-ttl-seconds: a whole number of seconds, 1 to 21600. */
export function parseTtl(header: string | string[] | undefined): number | undefined {
  if (typeof header !== 'string' || !/^\d{1,5}$/.test(header.trim())) return undefined;
  const n = Number(header.trim());
  return n >= 1 && n <= MAX_TOKEN_TTL ? n : undefined;
}
