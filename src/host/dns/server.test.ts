// The resolver on loopback, over a store with the fixture's rows, asked with Node's resolver (UDP,
// TCP when truncated) and with raw packets. vpcAt maps 127.0.0.1 to a VPC to play "asked from
// inside that VPC". Relaying is tested against a fake upstream on loopback: nothing leaves the
// machine (the servers that do not relay point at it too, to prove they never ask it).
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { promises as dnsPromises } from 'node:dns';
import { connect, createServer, type Server } from 'node:net';
import dnsPacket, { type Answer } from 'dns-packet';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Db } from '../../store/db.js';
import { hostFacts } from '../../host-facts.js';
import { fixtureStore, VPC_A } from './fixture.js';
import { frame, unframe } from './packet.js';
import { DnsServer, dnsLookup } from './server.js';

const { Resolver } = dnsPromises;

// ---- a fake upstream resolver (loopback), UDP and TCP on one port -----------------------------

const BIG = Array.from({ length: 80 }, (_, i) => `192.0.2.${i + 1}`);

class FakeUpstream {
  udpQueries = 0;
  tcpQueries = 0;
  port = 0;
  private udp!: UdpSocket;
  private tcp!: Server;

  private answer(msg: Buffer, limit: number): Buffer {
    const q = dnsPacket.decode(msg);
    const name = q.questions![0]!.name;
    const ips = name === 'big.example' ? BIG : name === 'small.example' ? ['192.0.2.200'] : [];
    const answers: Answer[] = ips.map((ip) => ({ name, type: 'A', ttl: 30, data: ip }));
    const out = dnsPacket.encode({ id: q.id, type: 'response', flags: dnsPacket.RECURSION_AVAILABLE | (ips.length ? 0 : 3), questions: q.questions, answers });
    if (out.length <= limit) return out;
    return dnsPacket.encode({ id: q.id, type: 'response', flags: dnsPacket.TRUNCATED_RESPONSE, questions: q.questions });
  }

  async start(): Promise<void> {
    this.tcp = createServer((s) => {
      let buf: Buffer = Buffer.alloc(0);
      s.on('data', (c: Buffer) => {
        const { messages, rest } = unframe(Buffer.concat([buf, c]));
        buf = rest;
        for (const m of messages) {
          this.tcpQueries++;
          s.write(frame(this.answer(m, 65535)));
        }
      });
      s.on('error', () => {});
    });
    await new Promise<void>((r) => this.tcp.listen(0, '127.0.0.1', () => r()));
    this.port = (this.tcp.address() as { port: number }).port;
    this.udp = createSocket('udp4');
    this.udp.on('message', (msg, rinfo) => {
      this.udpQueries++;
      const opt = dnsPacket.decode(msg).additionals?.find((a) => a.type === 'OPT') as { udpPayloadSize: number } | undefined;
      this.udp.send(this.answer(msg, opt ? opt.udpPayloadSize : 512), rinfo.port, rinfo.address);
    });
    await new Promise<void>((r) => this.udp.bind(this.port, '127.0.0.1', () => r()));
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => this.udp.close(() => r()));
    await new Promise<void>((r) => this.tcp.close(() => r()));
  }
}

// ---- helpers ---------------------------------------------------------------------------------

function resolverFor(port: number, host = '127.0.0.1'): InstanceType<typeof Resolver> {
  const r = new Resolver({ timeout: 1000, tries: 2 });
  r.setServers([`${host}:${port}`]);
  return r;
}

const code = (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: NodeJS.ErrnoException) => e.code,
  );

function rawQuery(name: string, type: 'A' | 'AAAA' | 'PTR' = 'A', id = 777): Buffer {
  return dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type, class: 'IN' }] });
}

/** One UDP exchange; undefined when nothing comes back in `waitMs`. */
function udpAsk(port: number, msg: Buffer, host = '127.0.0.1', waitMs = 1000): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    const t = setTimeout(() => {
      s.close();
      resolve(undefined);
    }, waitMs);
    s.on('message', (m) => {
      clearTimeout(t);
      s.close();
      resolve(m);
    });
    s.send(msg, port, host);
  });
}

/** Write `data` on one TCP connection; collect framed answers until `count` came or the server hung up. */
function tcpAsk(port: number, data: Buffer, count: number, host = '127.0.0.1'): Promise<{ answers: Buffer[]; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const s = connect(port, host);
    let buf: Buffer = Buffer.alloc(0);
    const answers: Buffer[] = [];
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error(`tcp: ${answers.length} of ${count} answers`));
    }, 3000);
    s.on('data', (c: Buffer) => {
      const { messages, rest } = unframe(Buffer.concat([buf, c]));
      buf = rest;
      answers.push(...messages.map((m) => Buffer.from(m)));
      if (answers.length >= count) {
        clearTimeout(t);
        s.destroy();
        resolve({ answers, closed: false });
      }
    });
    s.on('close', () => {
      clearTimeout(t);
      resolve({ answers, closed: true });
    });
    s.on('error', () => {});
    s.write(data);
  });
}

// ---- the servers -----------------------------------------------------------------------------

let db: Db;
const upstream = new FakeUpstream();
const servers: DnsServer[] = [];
const logs: string[] = [];

async function start(opts: {
  vpc?: string;
  egress?: boolean;
  resolvers?: string[];
  host?: string;
  vpcAt?: (a: string) => string | undefined;
  lookup?: ConstructorParameters<typeof DnsServer>[0]['lookup'];
}) {
  const server = new DnsServer({
    lookup: opts.lookup ?? dnsLookup(hostFacts(db).dns),
    vpcAt: opts.vpcAt ?? ((a) => (a === '127.0.0.1' ? opts.vpc : undefined)),
    log: (l) => logs.push(l),
    egress: opts.egress ?? false,
    resolvers: opts.resolvers ?? [`127.0.0.1:${upstream.port}`],
    forwardTimeoutMs: 500,
  });
  servers.push(server);
  const port = await server.listen(0, opts.host ?? '127.0.0.1');
  return { server, port };
}

beforeAll(async () => {
  db = await fixtureStore();
  await upstream.start();
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await upstream.stop();
  await db?.destroy();
});

describe('asked from inside a VPC (egress off)', () => {
  let port = 0;
  let r: InstanceType<typeof Resolver>;
  beforeAll(async () => {
    ({ port } = await start({ vpc: VPC_A }));
    r = resolverFor(port);
  });

  test('private names resolve to private IPs, with TTL 60', async () => {
    expect(await r.resolve4('ip-10-0-1-5.ec2.internal', { ttl: true })).toEqual([{ address: '10.0.1.5', ttl: 60 }]);
    expect(await r.resolve4('IP-10-0-1-7.EC2.INTERNAL')).toEqual(['10.0.1.7']); // a secondary IP, any case
    expect(await r.resolve4('i-0aaaaaaaaaaaaaaa1.ec2.internal')).toEqual(['10.0.1.5']);
  });

  test("the VPC's own public name answers the private IP", async () => {
    expect(await r.resolve4('ec2-198-18-0-5.compute-1.amazonaws.com')).toEqual(['10.0.1.5']);
  });

  test('NXDOMAIN, NODATA, reverse', async () => {
    expect(await code(r.resolve4('ip-10-0-1-8.ec2.internal'))).toBe('ENOTFOUND');
    expect(await code(r.resolve4('ip-10-0-1-5.eu-west-1.compute.internal'))).toBe('ENOTFOUND');
    expect(await code(r.resolve6('ip-10-0-1-5.ec2.internal'))).toBe('ENODATA');
    expect(await r.reverse('10.0.1.5')).toEqual(['ip-10-0-1-5.ec2.internal']);
  });

  test('other names: REFUSED, and nothing is relayed', async () => {
    const before = upstream.udpQueries + upstream.tcpQueries;
    expect(await code(r.resolve4('small.example'))).toBe('EREFUSED');
    expect(await code(r.resolve4('ec2-198-18-0-8.compute-1.amazonaws.com'))).toBe('ENOTFOUND');
    expect(upstream.udpQueries + upstream.tcpQueries).toBe(before);
  });

  test('raw UDP: authoritative, id and question echoed', async () => {
    const out = dnsPacket.decode((await udpAsk(port, rawQuery('ip-10-0-1-5.ec2.internal', 'A', 31337)))!);
    expect(out).toMatchObject({ id: 31337, type: 'response', flag_aa: true, flag_rd: true, flag_ra: true, rcode: 'NOERROR' });
    expect(out.answers).toMatchObject([{ name: 'ip-10-0-1-5.ec2.internal', type: 'A', ttl: 60, data: '10.0.1.5' }]);
  });

  test('raw TCP: length-framed, two queries in one write, two answers', async () => {
    const { answers } = await tcpAsk(port, Buffer.concat([frame(rawQuery('ip-10-0-1-5.ec2.internal', 'A', 1)), frame(rawQuery('5.1.0.10.in-addr.arpa', 'PTR', 2))]), 2);
    const byId = new Map(answers.map((a) => dnsPacket.decode(a)).map((p) => [p.id, p]));
    expect(byId.get(1)!.answers).toMatchObject([{ type: 'A', data: '10.0.1.5' }]);
    expect(byId.get(2)!.answers).toMatchObject([{ type: 'PTR', data: 'ip-10-0-1-5.ec2.internal' }]);
  });

  test('raw TCP: a query split across writes', async () => {
    const f = frame(rawQuery('ip-10-0-1-9.ec2.internal', 'A', 5));
    const s = connect(port, '127.0.0.1');
    const got = new Promise<Buffer>((resolve) => {
      let buf: Buffer = Buffer.alloc(0);
      s.on('data', (c: Buffer) => {
        const { messages, rest } = unframe(Buffer.concat([buf, c]));
        buf = rest;
        if (messages.length) resolve(Buffer.from(messages[0]!));
      });
    });
    s.write(f.subarray(0, 1));
    await new Promise((res) => setTimeout(res, 50));
    s.write(f.subarray(1, 9));
    await new Promise((res) => setTimeout(res, 50));
    s.write(f.subarray(9));
    expect(dnsPacket.decode(await got).answers).toMatchObject([{ data: '10.0.1.9' }]);
    s.destroy();
  });

  test('malformed packets are dropped; the server goes on answering', async () => {
    for (const junk of [Buffer.alloc(0), Buffer.from([1, 2, 3]), Buffer.from('00010100000100000000000003', 'hex'), Buffer.alloc(600, 0xff)]) {
      expect(await udpAsk(port, junk, '127.0.0.1', 200)).toBeUndefined();
    }
    // A response sent to us is not a query: dropped too (no answering loops).
    const resp = dnsPacket.encode({ type: 'response', id: 9, questions: [{ name: 'ip-10-0-1-5.ec2.internal', type: 'A' }] });
    expect(await udpAsk(port, resp, '127.0.0.1', 200)).toBeUndefined();
    const { closed, answers } = await tcpAsk(port, Buffer.concat([frame(Buffer.from([9, 9, 9])), frame(rawQuery('ip-10-0-1-5.ec2.internal'))]), 2);
    expect(closed).toBe(true);
    expect(answers.length).toBeLessThan(2);
    expect(await r.resolve4('ip-10-0-1-5.ec2.internal')).toEqual(['10.0.1.5']);
  });

  test('a storm of mutated queries (UDP and TCP) breaks nothing', async () => {
    const seeds = [
      rawQuery('ip-10-0-1-5.ec2.internal'),
      rawQuery('5.1.0.10.in-addr.arpa', 'PTR'),
      dnsPacket.encode({
        type: 'query',
        id: 1,
        questions: [{ name: 'x.ec2.internal', type: 'A' }],
        additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }],
      }),
    ];
    let seed = 12345;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed % n);
    const mutants: Buffer[] = [];
    for (let i = 0; i < 600; i++) {
      const b = Buffer.from(seeds[i % seeds.length]!);
      for (let k = 0, n = 1 + rand(4); k < n; k++) b[rand(b.length)] = rand(256);
      mutants.push(i % 7 === 0 ? b.subarray(0, rand(b.length)) : b);
    }
    const s = createSocket('udp4');
    for (const m of mutants) s.send(m, port, '127.0.0.1');
    await tcpAsk(port, Buffer.concat(mutants.slice(0, 30).map(frame)), 30).catch(() => undefined);
    await new Promise((res) => setTimeout(res, 200));
    s.close();
    expect(await r.resolve4('ip-10-0-1-5.ec2.internal')).toEqual(['10.0.1.5']);
  });

  test('a query with two questions gets FORMERR', async () => {
    const two = dnsPacket.encode({
      type: 'query',
      id: 3,
      questions: [
        { name: 'a.ec2.internal', type: 'A' },
        { name: 'b.ec2.internal', type: 'A' },
      ],
    });
    expect(dnsPacket.decode((await udpAsk(port, two))!)).toMatchObject({ id: 3, rcode: 'FORMERR' });
  });
});

describe('asked from the host (no VPC)', () => {
  let r: InstanceType<typeof Resolver>;
  beforeAll(async () => {
    // egress on: the host still gets no relaying (no open resolver).
    const { port } = await start({ egress: true });
    r = resolverFor(port);
  });

  test('public names answer public IPs; private names do not exist', async () => {
    expect(await r.resolve4('ec2-198-18-0-5.compute-1.amazonaws.com')).toEqual(['198.18.0.5']);
    expect(await r.resolve4('ec2-198-18-0-7.eu-west-1.compute.amazonaws.com')).toEqual(['198.18.0.7']);
    expect(await code(r.resolve4('ec2-198-18-0-6.compute-1.amazonaws.com'))).toBe('ENOTFOUND'); // no DNS hostnames
    expect(await code(r.resolve4('ip-10-0-1-5.ec2.internal'))).toBe('ENOTFOUND');
    expect(await r.reverse('198.18.0.5')).toEqual(['ec2-198-18-0-5.compute-1.amazonaws.com']);
  });

  test('other names are refused, never relayed', async () => {
    const before = upstream.udpQueries + upstream.tcpQueries;
    expect(await code(r.resolve4('small.example'))).toBe('EREFUSED');
    expect(upstream.udpQueries + upstream.tcpQueries).toBe(before);
  });
});

describe('relaying (egress on, to a fake upstream on loopback)', () => {
  let port = 0;
  let r: InstanceType<typeof Resolver>;
  beforeAll(async () => {
    ({ port } = await start({ vpc: VPC_A, egress: true }));
    r = resolverFor(port);
  });

  test("EC2's names are still ours", async () => {
    const before = upstream.udpQueries + upstream.tcpQueries;
    expect(await r.resolve4('ip-10-0-1-5.ec2.internal')).toEqual(['10.0.1.5']);
    expect(await code(r.resolve4('ip-10-0-1-8.ec2.internal'))).toBe('ENOTFOUND');
    expect(upstream.udpQueries + upstream.tcpQueries).toBe(before);
  });

  test('other names are relayed, with the answer as the upstream gave it', async () => {
    const before = upstream.udpQueries;
    expect(await r.resolve4('small.example', { ttl: true })).toEqual([{ address: '192.0.2.200', ttl: 30 }]);
    expect(upstream.udpQueries).toBe(before + 1);
    expect(await code(r.resolve4('nothing.example'))).toBe('ENOTFOUND');
  });

  test('a big answer: TC over UDP, whole over TCP (upstream asked over TCP in turn)', async () => {
    const cut = dnsPacket.decode((await udpAsk(port, rawQuery('big.example')))!);
    expect(cut).toMatchObject({ flag_tc: true, answers: [] });
    const tcpBefore = upstream.tcpQueries;
    const { answers } = await tcpAsk(port, frame(rawQuery('big.example', 'A', 99)), 1);
    const whole = dnsPacket.decode(answers[0]!);
    expect(whole.id).toBe(99);
    expect(whole.answers!.map((a) => (a as { data: unknown }).data)).toEqual(BIG);
    expect(upstream.tcpQueries).toBe(tcpBefore + 1);
    // Node's resolver does the same dance by itself.
    expect((await r.resolve4('big.example')).sort()).toEqual([...BIG].sort());
  });

  test('no upstream answers: SERVFAIL', async () => {
    const dead = createSocket('udp4');
    await new Promise<void>((res) => dead.bind(0, '127.0.0.1', () => res())); // bound, never answers
    const { port: p } = await start({ vpc: VPC_A, egress: true, resolvers: [`127.0.0.1:${dead.address().port}`] });
    // Answered before the client gives up (3 s here; glibc's default is 5 s): how soon is bench:net's.
    expect(dnsPacket.decode((await udpAsk(p, rawQuery('small.example'), '127.0.0.1', 3000))!)).toMatchObject({ rcode: 'SERVFAIL' });
    dead.close();
  });
});

describe('failures', () => {
  test('a lookup that throws: SERVFAIL, logged', async () => {
    const { port } = await start({ vpc: VPC_A, lookup: async () => Promise.reject(new Error('store is gone')) });
    expect(dnsPacket.decode((await udpAsk(port, rawQuery('ip-10-0-1-5.ec2.internal')))!)).toMatchObject({ rcode: 'SERVFAIL' });
    expect(logs.some((l) => l.includes('store is gone'))).toBe(true);
  });

  test('a fixed port whose UDP is taken: listen fails', async () => {
    const taken = createSocket('udp4');
    await new Promise<void>((res) => taken.bind(0, '127.0.0.1', () => res()));
    const s = new DnsServer({ lookup: dnsLookup(hostFacts(db).dns), vpcAt: () => undefined });
    await expect(s.listen(taken.address().port, '127.0.0.1')).rejects.toMatchObject({ code: 'EADDRINUSE' });
    await s.close();
    taken.close();
  });
});

describe('listening on 0.0.0.0: one UDP socket per uplink address', () => {
  const map = new Map<string, string>();
  let server: DnsServer;
  let port = 0;
  beforeAll(async () => {
    ({ server, port } = await start({ host: '0.0.0.0', vpcAt: (a) => map.get(a) }));
  });

  const waitBound = async (want: string[]) => {
    for (let i = 0; i < 50 && JSON.stringify(server.boundUplinks()) !== JSON.stringify(want); i++) await new Promise((r) => setTimeout(r, 20));
    expect(server.boundUplinks()).toEqual(want);
  };

  test('no uplink: the host asks, over UDP and TCP', async () => {
    expect(server.boundUplinks()).toEqual([]);
    const r = resolverFor(port);
    expect(await r.resolve4('ec2-198-18-0-5.compute-1.amazonaws.com')).toEqual(['198.18.0.5']);
    expect(await code(r.resolve4('ip-10-0-1-5.ec2.internal'))).toBe('ENOTFOUND');
  });

  test('an address becomes a VPC uplink: its own socket answers as that VPC; the rest stays the host', async () => {
    map.set('127.0.0.1', VPC_A);
    server.refresh();
    await waitBound(['127.0.0.1']);
    expect(await resolverFor(port).resolve4('ec2-198-18-0-5.compute-1.amazonaws.com')).toEqual(['10.0.1.5']);
    expect(await resolverFor(port).resolve4('ip-10-0-1-5.ec2.internal')).toEqual(['10.0.1.5']);
    // Another loopback address reaches the wildcard socket: the host, over UDP and TCP. (Its UDP
    // reply leaves from the kernel's pick, 127.0.0.1, so ask with an unconnected socket.)
    const viaWildcard = dnsPacket.decode((await udpAsk(port, rawQuery('ec2-198-18-0-5.compute-1.amazonaws.com'), '127.0.0.2'))!);
    expect(viaWildcard.answers).toMatchObject([{ data: '198.18.0.5' }]);
    const { answers } = await tcpAsk(port, frame(rawQuery('ip-10-0-1-5.ec2.internal')), 1, '127.0.0.2');
    expect(dnsPacket.decode(answers[0]!)).toMatchObject({ rcode: 'NXDOMAIN' });
    // TCP to the uplink address: its local address names the VPC.
    const viaUplink = await tcpAsk(port, frame(rawQuery('ip-10-0-1-5.ec2.internal')), 1, '127.0.0.1');
    expect(dnsPacket.decode(viaUplink.answers[0]!).answers).toMatchObject([{ data: '10.0.1.5' }]);
  });

  test('the uplink goes: its socket goes too', async () => {
    map.clear();
    server.refresh();
    await waitBound([]);
    expect(await resolverFor(port).resolve4('ec2-198-18-0-5.compute-1.amazonaws.com')).toEqual(['198.18.0.5']);
  });
});
