// POST /console/sign-in: an IAM user's console sign-in (account id, user name, password) answered
// with temporary credentials as JSON, or 401 with one message for every failure.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SecretBox } from '../lib/secrets.js';
import type { Db } from '../store/db.js';
import { signIn, SignInFailed } from '../services/iam/login-profiles/sign-in.js';

export const SIGN_IN_PATH = '/console/sign-in';
const MAX_BODY = 8 * 1024;

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY) return undefined;
    chunks.push(c);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return undefined;
  }
}

/** Handles the sign-in route; false for any other request. */
export async function consoleSignIn(deps: { db: Db; secrets: SecretBox }, req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
  if (url.pathname !== SIGN_IN_PATH || req.method !== 'POST') return false;
  const body = await readJson(req);
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  if (typeof b.account !== 'string' || typeof b.userName !== 'string' || typeof b.password !== 'string') {
    json(res, 400, { message: 'account, userName and password are required.' });
    return true;
  }
  const r = { account: b.account, userName: b.userName, password: b.password, now: new Date() };
  try {
    const out = await deps.db.transaction().execute((trx) => signIn(trx, deps.secrets, r));
    json(res, 200, {
      accessKeyId: out.accessKeyId,
      secretAccessKey: out.secretAccessKey,
      sessionToken: out.sessionToken,
      expiration: out.expiration.toISOString(),
      principalArn: out.principalArn,
      passwordResetRequired: out.passwordResetRequired,
    });
  } catch (e) {
    if (!(e instanceof SignInFailed)) throw e;
    json(res, 401, { message: e.message });
  }
  return true;
}
