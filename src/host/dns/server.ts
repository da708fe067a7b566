// The VPC's resolver (Amazon-provided DNS): one port, UDP and TCP, on the host. Inside every VPC
// namespace, udp/tcp 53 to the VPC's base+2 and to 169.254.169.253 is DNAT'd to
// <uplink host-end address>:<port>, so the local address of a query names the asking VPC
// (vpcAt); anything else (the host itself) is no VPC.
//
// UDP on a wildcard address has a catch: Node does not tell which local address a datagram was
// sent to (no IP_PKTINFO), and a reply from the wildcard socket leaves with a source address the
// kernel picks by routing, which for an instance's private IP (never routed on the host) is wrong.
// So, listening on 0.0.0.0, the server also binds one UDP socket to each uplink address on the
// host (SO_REUSEADDR on both; the kernel prefers the exact-address socket): those know their VPC,
// and their replies leave from the uplink address, which the host's `ip rule from <address>`
// sends back up the right uplink. The host's addresses are watched (`ip monitor address`, a
// periodic look, and refresh()); the wildcard socket answers only the host's own queries.
// TCP has none of this trouble: an accepted socket knows its local address.
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIP, type AddressInfo, type Server, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { HostResolvers, parseUpstream, relay, type Upstream } from './forward.js';
import type { DnsLookup, DnsResult } from './lookup.js';
import { decodeQuery, errorResponse, fitUdp, frame, queryProblem, responseFor, udpLimit, unframe } from './packet.js';

export { dnsLookup } from './lookup.js';
export type { DnsLookup, DnsQuery, DnsRecord, DnsResult } from './lookup.js';

export interface DnsServerOptions {
  lookup: DnsLookup;
  /** The VPC whose uplink holds this host address (undefined: not a VPC's). */
  vpcAt: (localAddress: string) => string | undefined;
  log?: (line: string) => void;
  /** Relay names that are not EC2's to the host's resolvers (CUMULO_EGRESS=on); else REFUSED. */
  egress?: boolean;
  /** Where to relay ('addr' or 'addr:port'); default: the nameservers of /etc/resolv.conf. */
  resolvers?: string[];
  /** How long to wait for one upstream resolver. */
  forwardTimeoutMs?: number;
  /** Interval of the periodic look at the host's addresses (wildcard listen only). */
  rescanMs?: number;
}

const MAX_FORWARDS = 256;
const MAX_PENDING_PER_CONNECTION = 32;
const TCP_IDLE_MS = 10_000;

/** '::ffff:169.254.128.5' (a dual-stack socket) is 169.254.128.5. */
function plain(address: string | undefined): string {
  const a = address ?? '';
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

const errno = (e: unknown) => (e as NodeJS.ErrnoException | undefined)?.code;

export class DnsServer {
  private readonly lookup: DnsLookup;
  private readonly vpcAt: (localAddress: string) => string | undefined;
  private readonly log: (line: string) => void;
  private readonly egress: boolean;
  private readonly upstreams: () => Upstream[];
  private readonly forwardTimeoutMs: number;
  private readonly rescanMs: number;

  private udp?: UdpSocket;
  private tcp?: Server;
  private port = 0;
  private wildcard = false;
  private closed = false;
  /** Per-uplink-address UDP sockets (wildcard listen only). */
  private readonly uplinks = new Map<string, UdpSocket>();
  private readonly failedBinds = new Set<string>();
  private readonly bound = new WeakSet<UdpSocket>();
  private localAddresses = new Set<string>();
  private readonly connections = new Set<Socket>();
  private forwards = 0;
  private monitor?: ChildProcess;
  private timer?: NodeJS.Timeout;
  private refreshQueued = false;
  private lastRefresh = 0;

  constructor(opts: DnsServerOptions) {
    this.lookup = opts.lookup;
    this.vpcAt = opts.vpcAt;
    this.log = opts.log ?? (() => {});
    this.egress = opts.egress ?? false;
    this.forwardTimeoutMs = opts.forwardTimeoutMs ?? 2000;
    this.rescanMs = opts.rescanMs ?? 2000;
    if (opts.resolvers) {
      const list = opts.resolvers.map(parseUpstream);
      this.upstreams = () => list;
    } else {
      const host = new HostResolvers();
      this.upstreams = () => host.list();
    }
  }

  /** Listen on one port for UDP and TCP (port 0: any port free for both); resolves with the port. */
  async listen(port: number, host = '0.0.0.0'): Promise<number> {
    if (this.tcp) throw new Error('dns: already listening');
    this.wildcard = host === '0.0.0.0' || host === '::';
    const type = isIP(host) === 6 ? 'udp6' : 'udp4';
    for (let attempt = 0; ; attempt++) {
      const tcp = createServer((sock) => this.onConnection(sock));
      tcp.on('error', (e) => this.log(`dns: tcp: ${e.message}`));
      await listenTcp(tcp, port, host);
      const p = (tcp.address() as AddressInfo).port;
      const udp = createSocket({ type, reuseAddr: this.wildcard });
      try {
        await bindUdp(udp, p, host);
      } catch (e) {
        await new Promise<void>((r) => tcp.close(() => r()));
        udp.close();
        // Someone has UDP on the port TCP got: try another.
        if (port === 0 && errno(e) === 'EADDRINUSE' && attempt < 50) continue;
        throw e;
      }
      udp.on('error', (e) => this.log(`dns: udp: ${e.message}`));
      udp.on('message', (msg, rinfo) => this.onDatagram(udp, msg, rinfo, this.wildcard ? undefined : host));
      this.tcp = tcp;
      this.udp = udp;
      this.port = p;
      break;
    }
    if (this.wildcard) {
      this.refresh();
      this.watch();
      this.timer = setInterval(() => this.refresh(), this.rescanMs);
      this.timer.unref();
    }
    return this.port;
  }

  /** The UDP addresses bound besides the listen address: one per uplink (wildcard listen). */
  boundUplinks(): string[] {
    return [...this.uplinks]
      .filter(([, s]) => this.bound.has(s))
      .map(([a]) => a)
      .sort();
  }

  /**
   * Look at the host's addresses now: bind a UDP socket to each new uplink address, close those of
   * uplinks gone. The network code may call it after making an uplink (it is also watched).
   */
  refresh(): void {
    if (!this.wildcard || this.closed) return;
    this.lastRefresh = Date.now();
    let found: string[];
    try {
      found = Object.values(networkInterfaces()).flatMap((l) => (l ?? []).map((a) => a.address.replace(/%.*$/, '')));
    } catch (e) {
      this.log(`dns: listing the host's addresses failed: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    this.localAddresses = new Set(found);
    const want = new Set(found.filter((a) => isIP(a) === 4 && this.vpcOf(a) !== undefined));
    for (const [a, s] of this.uplinks) {
      if (!want.has(a)) {
        this.uplinks.delete(a);
        s.close();
      }
    }
    for (const a of want) if (!this.uplinks.has(a)) this.bindUplink(a);
  }

  close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.monitor?.stdin?.end();
    this.monitor = undefined;
    for (const s of this.uplinks.values()) s.close();
    this.uplinks.clear();
    for (const c of this.connections) c.destroy();
    const udp = this.udp;
    const tcp = this.tcp;
    this.udp = undefined;
    this.tcp = undefined;
    return new Promise((resolve) => {
      let left = 2;
      const one = () => --left === 0 && resolve();
      if (udp) udp.close(one);
      else one();
      if (tcp) tcp.close(() => one());
      else one();
    });
  }

  // -------------------------------------------------------------------------------------------

  private vpcOf(localAddress: string): string | undefined {
    try {
      return this.vpcAt(plain(localAddress));
    } catch {
      return undefined;
    }
  }

  private isLocal(address: string): boolean {
    const a = plain(address);
    return a.startsWith('127.') || a === '::1' || this.localAddresses.has(a);
  }

  private bindUplink(address: string): void {
    const s = createSocket({ type: 'udp4', reuseAddr: true });
    this.uplinks.set(address, s);
    s.on('error', (e) => {
      if (!this.failedBinds.has(address)) this.log(`dns: udp on ${address}:${this.port}: ${e.message}`);
      this.failedBinds.add(address);
      if (this.uplinks.get(address) === s) this.uplinks.delete(address);
      try {
        s.close();
      } catch {
        // already closed
      }
    });
    s.on('listening', () => {
      this.bound.add(s);
      this.failedBinds.delete(address);
    });
    s.on('message', (msg, rinfo) => this.onDatagram(s, msg, rinfo, address));
    s.bind(this.port, address);
  }

  /** `ip monitor address` says when an address comes or goes: look again at once. */
  private watch(): void {
    let child: ChildProcess;
    try {
      // The shell stops `ip` when our end of its stdin closes: at close(), and when this process
      // dies without one (a killed server leaves no watcher behind).
      child = spawn('sh', ['-c', 'ip -o -4 monitor address & read -r _; kill $! 2>/dev/null'], { stdio: ['pipe', 'pipe', 'ignore'] });
    } catch {
      return; // the periodic look still runs
    }
    child.stdin?.on('error', () => {});
    child.on('error', () => {});
    child.stdout?.on('data', () => {
      if (this.refreshQueued) return;
      this.refreshQueued = true;
      setImmediate(() => {
        this.refreshQueued = false;
        this.refresh();
      });
    });
    this.monitor = child;
  }

  private onDatagram(sock: UdpSocket, msg: Buffer, rinfo: RemoteInfo, local: string | undefined): void {
    let vpcId: string | undefined;
    if (local === undefined) {
      // The wildcard socket: only the host's own queries. Anything else is a VPC whose uplink
      // socket is not bound yet (the client asks again) or a stranger: our reply could not find
      // its way, so look at the addresses again and drop the query.
      if (!this.isLocal(rinfo.address)) {
        // At most every 100 ms: a flood of strays must not turn into a flood of address listings.
        if (Date.now() - this.lastRefresh >= 100) this.refresh();
        return;
      }
    } else {
      vpcId = this.vpcOf(local);
    }
    this.respond(msg, vpcId, false).then(
      (out) => {
        if (!out || this.closed) return;
        try {
          sock.send(out, rinfo.port, rinfo.address, () => {});
        } catch {
          // the uplink's socket closed meanwhile (its VPC went): nobody to answer
        }
      },
      (e) => this.log(`dns: ${e instanceof Error ? e.message : String(e)}`),
    );
  }

  private onConnection(sock: Socket): void {
    this.connections.add(sock);
    sock.on('close', () => this.connections.delete(sock));
    sock.on('error', () => {});
    sock.setTimeout(TCP_IDLE_MS, () => sock.destroy());
    const vpcId = this.vpcOf(sock.localAddress ?? '');
    let buf: Buffer = Buffer.alloc(0);
    let pending = 0;
    sock.on('data', (chunk: Buffer) => {
      const { messages, rest } = unframe(buf.length ? Buffer.concat([buf, chunk]) : chunk);
      buf = rest;
      for (const m of messages) {
        if (++pending > MAX_PENDING_PER_CONNECTION) return void sock.destroy();
        this.respond(m, vpcId, true).then(
          (out) => {
            pending--;
            // Not a DNS query: no use talking on.
            if (!out) return void sock.destroy();
            if (!sock.destroyed) sock.write(frame(out));
          },
          () => sock.destroy(),
        );
      }
    });
  }

  /** The response to one message, or undefined: not a query we can read (dropped). */
  private async respond(msg: Buffer, vpcId: string | undefined, tcp: boolean): Promise<Buffer | undefined> {
    const q = decodeQuery(msg);
    if (!q) return undefined;
    const fit = (b: Buffer) => (tcp ? (b.length <= 0xffff ? b : errorResponse(q, 'SERVFAIL')) : fitUdp(q, b, udpLimit(q)));
    const problem = queryProblem(q);
    if (problem) return fit(errorResponse(q, problem));
    const question = q.questions![0]!;
    let r: DnsResult;
    try {
      r = await this.lookup({ name: question.name, type: question.type, vpcId });
    } catch (e) {
      this.log(`dns: lookup of ${question.name} ${question.type} failed: ${e instanceof Error ? e.message : String(e)}`);
      return fit(errorResponse(q, 'SERVFAIL'));
    }
    if (r.rcode !== 'FORWARD') return fit(responseFor(q, r));
    if (!this.egress) return fit(responseFor(q, { rcode: r.otherwise }));
    return fit((await this.forward(msg, tcp)) ?? errorResponse(q, 'SERVFAIL'));
  }

  private async forward(msg: Buffer, tcp: boolean): Promise<Buffer | undefined> {
    if (this.forwards >= MAX_FORWARDS) return undefined;
    this.forwards++;
    try {
      return await relay(msg, this.upstreams(), { tcp, timeoutMs: this.forwardTimeoutMs });
    } finally {
      this.forwards--;
    }
  }
}

function listenTcp(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function bindUdp(sock: UdpSocket, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (e: Error) => reject(e);
    sock.once('error', fail);
    sock.bind(port, host, () => {
      sock.off('error', fail);
      resolve();
    });
  });
}
