// Relaying a query we do not answer ourselves to the host's resolvers (only when egress is on):
// UDP first, TCP when the upstream answer is truncated and the client asked over TCP. Each relay
// uses its own socket (a fresh source port) and a fresh random id, and accepts only an answer from
// the server it asked, to the id and question it sent.
import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { readFileSync, statSync } from 'node:fs';
import { isIP, Socket as TcpSocket } from 'node:net';
import dnsPacket from 'dns-packet';
import { frame, unframe } from './packet.js';

export interface Upstream {
  address: string;
  port: number;
}

/** `nameserver` lines of a resolv.conf (glibc reads at most 3; none means 127.0.0.1). */
export function parseResolvConf(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const m = /^nameserver\s+(\S+)/.exec(line);
    if (!m) continue;
    const addr = m[1]!.replace(/%.*$/, ''); // fe80::1%eth0: the scope is the kernel's business
    if (isIP(addr)) out.push(addr);
  }
  return out.length ? out.slice(0, 3) : ['127.0.0.1'];
}

/** '10.0.0.2', '10.0.0.2:5353', '::1', '[::1]:5353' → address and port. */
export function parseUpstream(s: string): Upstream {
  let m = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (m) return { address: m[1]!, port: m[2] ? Number(m[2]) : 53 };
  m = /^([^:]+):(\d+)$/.exec(s);
  if (m) return { address: m[1]!, port: Number(m[2]) };
  return { address: s, port: 53 };
}

/** The host's resolvers, re-read when /etc/resolv.conf changes. */
export class HostResolvers {
  private cached: Upstream[] = [];
  private stamp = '';

  constructor(private readonly file = '/etc/resolv.conf') {}

  list(): Upstream[] {
    let stamp = 'missing';
    try {
      const st = statSync(this.file);
      stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
    } catch {
      // no resolv.conf: glibc's default
    }
    if (stamp !== this.stamp) {
      let text = '';
      try {
        text = readFileSync(this.file, 'utf8');
      } catch {
        // as above
      }
      this.cached = parseResolvConf(text).map((a) => ({ address: a, port: 53 }));
      this.stamp = stamp;
    }
    return this.cached;
  }
}

/** The upstream's answer is to what we asked: its id, a response, the same question. */
export function answers(query: Buffer, response: Buffer): boolean {
  if (response.length < 12 || response.readUInt16BE(0) !== query.readUInt16BE(0)) return false;
  try {
    const q = dnsPacket.decode(query);
    const r = dnsPacket.decode(response);
    if (r.type !== 'response') return false;
    const a = q.questions?.[0];
    const b = r.questions?.[0];
    // A FORMERR or the like may come back without the question.
    if (!b) return (r.flags ?? 0) % 16 !== 0;
    return !!a && a.type === b.type && a.class === b.class && a.name.toLowerCase() === b.name.toLowerCase();
  } catch {
    return false;
  }
}

function viaUdp(query: Buffer, up: Upstream, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const sock = createSocket(isIP(up.address) === 6 ? 'udp6' : 'udp4');
    let done = false;
    const finish = (r: Buffer | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.close();
      resolve(r);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    sock.on('error', () => finish(undefined));
    // A connected socket takes datagrams from that address and port only.
    sock.on('message', (msg) => {
      if (answers(query, msg)) finish(msg);
    });
    sock.connect(up.port, up.address, () => sock.send(query, (e) => e && finish(undefined)));
  });
}

function viaTcp(query: Buffer, up: Upstream, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const sock = new TcpSocket();
    let buf: Buffer = Buffer.alloc(0);
    let done = false;
    const finish = (r: Buffer | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    sock.on('error', () => finish(undefined));
    sock.on('close', () => finish(undefined));
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const { messages, rest } = unframe(buf);
      buf = rest;
      for (const m of messages) if (answers(query, m)) return finish(Buffer.from(m));
    });
    sock.connect(up.port, up.address, () => sock.write(frame(query)));
  });
}

/**
 * Ask the upstreams in turn; the answer carries the client's id again. Undefined when none
 * answered (the caller says SERVFAIL).
 */
export async function relay(query: Buffer, upstreams: Upstream[], opts: { tcp: boolean; timeoutMs: number }): Promise<Buffer | undefined> {
  if (query.length < 12) return undefined;
  const clientId = query.readUInt16BE(0);
  const ours = Buffer.from(query);
  ours.writeUInt16BE(randomInt(0, 0x10000), 0);
  for (const up of upstreams) {
    let r = await viaUdp(ours, up, opts.timeoutMs);
    // TC set: over TCP the whole answer fits; a UDP client gets it truncated anyway and comes back over TCP.
    if (r && opts.tcp && (r.readUInt16BE(2) & dnsPacket.TRUNCATED_RESPONSE) !== 0) r = (await viaTcp(ours, up, opts.timeoutMs)) ?? r;
    if (r) {
      const out = Buffer.from(r);
      out.writeUInt16BE(clientId, 0);
      return out;
    }
  }
  return undefined;
}
