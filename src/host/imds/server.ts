// The instance metadata service: an HTTP server on the host that every instance reaches at
// 169.254.169.254:80 (each VPC's namespace DNATs it to its uplink's host-end address here). Who is
// asking is decided by the connection alone: its local address names the VPC (the uplink it came
// up, LinuxHostNetwork.vpcAt) and its source address the interface in that VPC (anti-spoofed in
// the VPC's namespace); nothing in the request can change it.
//
// IMDSv2 (EC2's rules): `PUT /latest/api/token` with X-aws-ec2-metadata-token-ttl-seconds (1 to
// 21600, else 400) returns a token; a PUT carrying X-Forwarded-For is refused (403), so a proxy on
// the instance cannot fetch one for someone else. A request with X-aws-ec2-metadata-token must
// carry a valid one (else 401); without one it is IMDSv1, refused (401) when HttpTokens=required.
// HttpEndpoint=disabled answers everything with 403.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorPage, readsCredentials, resolvePath, type InstanceMetadata } from './metadata.js';
import { parseTtl, TokenSigner } from './token.js';

/**
 * The instance behind a connection: its source address, and the host address it reached (the
 * uplink's). `withCredentials`: also its role's credentials (issued if due), for iam/ paths once
 * the request is authorised.
 */
export type MetadataLookup = (sourceIp: string, localIp: string, withCredentials?: boolean) => Promise<InstanceMetadata | undefined>;

export interface ImdsServerOptions {
  lookup: MetadataLookup;
  /** Signs tokens; keep it across restarts so that instances' tokens stay valid (32 random bytes). */
  secret?: Buffer;
  log?: (line: string) => void;
  /** The clock, in ms (tests). */
  now?: () => number;
}

const TOKEN_PATH = '/latest/api/token';
const TTL_HEADER = 'x-aws-ec2-metadata-token-ttl-seconds';
const TOKEN_HEADER = 'x-aws-ec2-metadata-token';

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  500: 'Internal Server Error',
};

/** '::ffff:172.31.0.11' (a dual-stack socket) is 172.31.0.11. */
export function sourceAddress(remote: string | undefined): string {
  const a = remote ?? '';
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

export class ImdsServer {
  private readonly server: Server;
  private readonly signer: TokenSigner;
  private readonly lookup: MetadataLookup;
  private readonly log: (line: string) => void;
  private readonly now: () => number;

  constructor(opts: ImdsServerOptions) {
    this.lookup = opts.lookup;
    this.signer = new TokenSigner(opts.secret);
    this.log = opts.log ?? (() => {});
    this.now = opts.now ?? Date.now;
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e) => {
        this.log(`imds: ${req.method} ${req.url} failed: ${e instanceof Error ? e.message : String(e)}`);
        if (!res.headersSent) this.error(res, 500);
        else res.destroy();
      });
    });
    this.server.requestTimeout = 10_000;
    this.server.headersTimeout = 10_000;
  }

  /** Listen (port 0: any free port); resolves with the port. */
  listen(port: number, host = '0.0.0.0'): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private send(res: ServerResponse, status: number, body: string | Buffer, headers: Record<string, string>): void {
    const buf = typeof body === 'string' ? Buffer.from(body) : body;
    res.writeHead(status, { ...headers, 'Content-Length': String(buf.length), 'Accept-Ranges': 'none', Server: 'EC2ws' });
    res.end(res.req.method === 'HEAD' ? undefined : buf);
  }

  private error(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
    this.send(res, status, errorPage(status, REASONS[status] ?? 'Error'), { ...headers, 'Content-Type': 'text/html' });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    req.resume(); // bodies are ignored
    const method = req.method ?? 'GET';
    let path: string;
    try {
      path = new URL(req.url ?? '/', 'http://169.254.169.254').pathname;
    } catch {
      return this.error(res, 400);
    }
    const source = sourceAddress(req.socket.remoteAddress);
    const local = sourceAddress(req.socket.localAddress);
    let m = await this.lookup(source, local);
    // Not an instance of this host: nothing to say to it.
    if (!m || m.options.httpEndpoint === 'disabled') return this.error(res, 403);

    if (path === TOKEN_PATH) {
      if (method === 'OPTIONS') return this.send(res, 200, '', { Allow: 'OPTIONS, PUT', 'Content-Type': 'text/plain' });
      if (method !== 'PUT') return this.error(res, 405, { Allow: 'OPTIONS, PUT' });
      if (req.headers['x-forwarded-for'] !== undefined) return this.error(res, 403);
      const ttl = parseTtl(req.headers[TTL_HEADER]);
      if (ttl === undefined) return this.error(res, 400);
      const token = this.signer.issue(m.instanceId, ttl, this.now());
      return this.send(res, 200, token, { 'Content-Type': 'text/plain', 'X-Aws-Ec2-Metadata-Token-Ttl-Seconds': String(ttl) });
    }
    if (method !== 'GET' && method !== 'HEAD') return this.error(res, 405, { Allow: 'OPTIONS, GET, HEAD' });

    const headers: Record<string, string> = {};
    const token = req.headers[TOKEN_HEADER];
    if (token !== undefined) {
      const left = typeof token === 'string' ? this.signer.remaining(token, m.instanceId, this.now()) : undefined;
      if (left === undefined) return this.error(res, 401);
      headers['X-Aws-Ec2-Metadata-Token-Ttl-Seconds'] = String(left);
    } else if (m.options.httpTokens === 'required') {
      return this.error(res, 401);
    }
    // Role credentials are read (and issued when due) only for an authorised request that asks for them.
    if (readsCredentials(path)) {
      const again = await this.lookup(source, local, true);
      if (again?.instanceId === m.instanceId) m = again;
    }
    const r = resolvePath(m, path);
    if (r.status === 404) return this.error(res, 404, headers);
    return this.send(res, 200, r.body, { ...headers, 'Content-Type': r.contentType });
  }
}
