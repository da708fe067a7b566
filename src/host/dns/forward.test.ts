// Relaying to the host's resolvers: resolv.conf, and the relay against fake upstreams on loopback.
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { afterAll, describe, expect, test } from 'vitest';
import { answers, HostResolvers, parseResolvConf, parseUpstream, relay } from './forward.js';

describe('resolv.conf', () => {
  test.each<[string, string[]]>([
    ['nameserver 10.0.0.2\n', ['10.0.0.2']],
    ['# a comment\nsearch ec2.internal\nnameserver 10.0.0.2 # trailing\nnameserver ::1\noptions timeout:2\n', ['10.0.0.2', '::1']],
    ['nameserver fe80::1%eth0\n', ['fe80::1']],
    ['nameserver 1.1.1.1\nnameserver 8.8.8.8\nnameserver 9.9.9.9\nnameserver 8.8.4.4\n', ['1.1.1.1', '8.8.8.8', '9.9.9.9']],
    ['nameserver not-an-address\n', ['127.0.0.1']],
    ['', ['127.0.0.1']],
  ])('%j', (text, want) => {
    expect(parseResolvConf(text)).toEqual(want);
  });

  test.each([
    ['10.0.0.2', { address: '10.0.0.2', port: 53 }],
    ['127.0.0.1:5353', { address: '127.0.0.1', port: 5353 }],
    ['::1', { address: '::1', port: 53 }],
    ['[::1]:5353', { address: '::1', port: 5353 }],
  ])('upstream %s', (s, want) => {
    expect(parseUpstream(s)).toEqual(want);
  });

  const dir = mkdtempSync(join(tmpdir(), 'cumulo-dns-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('HostResolvers reads the file again when it changes', () => {
    const file = join(dir, 'resolv.conf');
    writeFileSync(file, 'nameserver 10.0.0.2\n');
    const h = new HostResolvers(file);
    expect(h.list()).toEqual([{ address: '10.0.0.2', port: 53 }]);
    writeFileSync(file, 'nameserver 10.0.0.3\nnameserver 10.0.0.4\n');
    expect(h.list()).toEqual([
      { address: '10.0.0.3', port: 53 },
      { address: '10.0.0.4', port: 53 },
    ]);
    expect(new HostResolvers(join(dir, 'missing')).list()).toEqual([{ address: '127.0.0.1', port: 53 }]);
  });
});

const query = (name: string, id = 100) => dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: 'A' }] });
const reply = (name: string, id: number, data = '192.0.2.1') =>
  dnsPacket.encode({ type: 'response', id, questions: [{ name, type: 'A' }], answers: [{ name, type: 'A', ttl: 5, data }] });

describe('answers', () => {
  test('the same id, a response, the same question (any case)', () => {
    expect(answers(query('a.example', 7), reply('A.Example', 7))).toBe(true);
    expect(answers(query('a.example', 7), reply('a.example', 8))).toBe(false);
    expect(answers(query('a.example', 7), reply('b.example', 7))).toBe(false);
    expect(answers(query('a.example', 7), query('a.example', 7))).toBe(false);
    expect(answers(query('a.example', 7), Buffer.from([0, 7]))).toBe(false);
  });
});

describe('relay', () => {
  test('a fresh id upstream, the client id back; answers to other ids are ignored', async () => {
    const up = createSocket('udp4');
    const seen: number[] = [];
    up.on('message', (m, r) => {
      const id = m.readUInt16BE(0);
      seen.push(id);
      up.send(reply('a.example', (id + 1) & 0xffff, '192.0.2.66'), r.port, r.address); // a spoof: wrong id
      setTimeout(() => up.send(reply('a.example', id), r.port, r.address), 20);
    });
    await new Promise<void>((res) => up.bind(0, '127.0.0.1', () => res()));
    const out = await relay(query('a.example', 4321), [{ address: '127.0.0.1', port: up.address().port }], { tcp: false, timeoutMs: 1000 });
    up.close();
    const p = dnsPacket.decode(out!);
    expect(p.id).toBe(4321);
    expect(p.answers).toMatchObject([{ data: '192.0.2.1' }]);
    expect(seen).toHaveLength(1);
  });

  test('the next upstream when one does not answer; undefined when none does', async () => {
    const mute = createSocket('udp4');
    const good = createSocket('udp4');
    good.on('message', (m, r) => good.send(reply('a.example', m.readUInt16BE(0)), r.port, r.address));
    await new Promise<void>((res) => mute.bind(0, '127.0.0.1', () => res()));
    await new Promise<void>((res) => good.bind(0, '127.0.0.1', () => res()));
    const m = { address: '127.0.0.1', port: mute.address().port };
    const g = { address: '127.0.0.1', port: good.address().port };
    expect(await relay(query('a.example'), [m, g], { tcp: false, timeoutMs: 200 })).toBeDefined();
    expect(await relay(query('a.example'), [m], { tcp: false, timeoutMs: 200 })).toBeUndefined();
    mute.close();
    good.close();
  });
});
