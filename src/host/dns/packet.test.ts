// The wire format around our answers, without sockets.
import dnsPacket, { type Packet } from 'dns-packet';
import { describe, expect, test } from 'vitest';
import { decodeQuery, EDNS_PAYLOAD, errorResponse, fitUdp, frame, queryProblem, responseFor, saneName, udpLimit, unframe, type Query } from './packet.js';

const RD = dnsPacket.RECURSION_DESIRED;

function query(over: Partial<Packet> = {}, name = 'ip-10-0-1-5.ec2.internal', type: 'A' | 'AAAA' | 'PTR' = 'A'): Buffer {
  return dnsPacket.encode({ type: 'query', id: 4242, flags: RD, questions: [{ name, type, class: 'IN' }], ...over });
}
const q = (buf: Buffer) => decodeQuery(buf)!;
const edns = (size: number) => ({
  additionals: [{ type: 'OPT' as const, name: '.', udpPayloadSize: size, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }],
});

describe('decodeQuery', () => {
  test('a query decodes', () => {
    expect(q(query()).questions).toEqual([{ name: 'ip-10-0-1-5.ec2.internal', type: 'A', class: 'IN' }]);
  });

  test.each<[string, Buffer]>([
    ['empty', Buffer.alloc(0)],
    ['short header', Buffer.from([1, 2, 3])],
    ['a response', dnsPacket.encode({ type: 'response', id: 1, questions: [{ name: 'x.ec2.internal', type: 'A' }] })],
    ['counts beyond the data', Buffer.from([0, 1, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 3, 0x61])],
    ['a pointer loop', Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1])],
    ['a bad label type', Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x80, 0, 0, 1, 0, 1])],
    ['random bytes', Buffer.from('5bd9b4a12ff0c36e8e1d0f6c7c1a9ad8e3f1', 'hex')],
  ])('%s: dropped', (_, buf) => {
    expect(decodeQuery(buf)).toBeUndefined();
  });
});

describe('queryProblem', () => {
  test('a plain query is fine', () => expect(queryProblem(q(query()))).toBeUndefined());
  test('class ANY is fine', () => {
    const buf = dnsPacket.encode({ type: 'query', id: 1, questions: [{ name: 'a.ec2.internal', type: 'A', class: 'ANY' }] });
    expect(queryProblem(q(buf))).toBeUndefined();
  });
  test('not opcode QUERY: NOTIMP', () => {
    const buf = query();
    buf.writeUInt16BE(buf.readUInt16BE(2) | (2 << 11), 2); // STATUS
    expect(queryProblem(q(buf))).toBe('NOTIMP');
  });
  test('no question or two: FORMERR', () => {
    expect(queryProblem(q(dnsPacket.encode({ type: 'query', id: 1, questions: [] })))).toBe('FORMERR');
    const two = dnsPacket.encode({
      type: 'query',
      id: 1,
      questions: [
        { name: 'a.ec2.internal', type: 'A' },
        { name: 'b.ec2.internal', type: 'A' },
      ],
    });
    expect(queryProblem(q(two))).toBe('FORMERR');
  });
  test('CHAOS: REFUSED', () => {
    const buf = dnsPacket.encode({ type: 'query', id: 1, questions: [{ name: 'version.bind', type: 'TXT', class: 'CH' }] });
    expect(queryProblem(q(buf))).toBe('REFUSED');
  });
  test('a name we could not echo: FORMERR', () => {
    const buf = Buffer.concat([Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 2, 0xff, 0xfe, 0, 0, 1, 0, 1])]);
    expect(queryProblem(q(buf))).toBe('FORMERR');
  });
  test.each([
    ['ip-10-0-1-5.ec2.internal', true],
    ['.', true],
    ['with space.example', false],
    ['caf\u00e9.example', false],
    ['', false],
  ])('saneName(%j) = %s', (name, ok) => expect(saneName(name as string)).toBe(ok));
});

describe('responseFor', () => {
  test('an answer: authoritative, recursion available, RD echoed, the question and the A record', () => {
    const r = dnsPacket.decode(responseFor(q(query()), { rcode: 'NOERROR', answers: [{ name: 'ip-10-0-1-5.ec2.internal', type: 'A', data: '10.0.1.5', ttl: 60 }] }));
    expect(r).toMatchObject({ id: 4242, type: 'response', flag_aa: true, flag_ra: true, flag_rd: true, flag_tc: false, rcode: 'NOERROR' });
    expect(r.questions).toEqual([{ name: 'ip-10-0-1-5.ec2.internal', type: 'A', class: 'IN' }]);
    expect(r.answers).toEqual([{ name: 'ip-10-0-1-5.ec2.internal', type: 'A', class: 'IN', ttl: 60, data: '10.0.1.5', flush: false }]);
  });

  test('the name as asked (any case) comes back as asked', () => {
    const buf = query({}, 'Ip-10-0-1-5.EC2.internal');
    const r = dnsPacket.decode(responseFor(q(buf), { rcode: 'NOERROR', answers: [{ name: 'Ip-10-0-1-5.EC2.internal', type: 'A', data: '10.0.1.5', ttl: 60 }] }));
    expect(r.questions![0]!.name).toBe('Ip-10-0-1-5.EC2.internal');
    expect(r.answers![0]!.name).toBe('Ip-10-0-1-5.EC2.internal');
  });

  test('PTR', () => {
    const r = dnsPacket.decode(
      responseFor(q(query({}, '5.1.0.10.in-addr.arpa', 'PTR')), {
        rcode: 'NOERROR',
        answers: [{ name: '5.1.0.10.in-addr.arpa', type: 'PTR', data: 'ip-10-0-1-5.ec2.internal', ttl: 60 }],
      }),
    );
    expect(r.answers).toMatchObject([{ type: 'PTR', data: 'ip-10-0-1-5.ec2.internal', ttl: 60 }]);
  });

  test('NXDOMAIN is authoritative; REFUSED is not', () => {
    expect(dnsPacket.decode(responseFor(q(query()), { rcode: 'NXDOMAIN' }))).toMatchObject({ rcode: 'NXDOMAIN', flag_aa: true, answers: [] });
    expect(dnsPacket.decode(responseFor(q(query()), { rcode: 'REFUSED' }))).toMatchObject({ rcode: 'REFUSED', flag_aa: false, answers: [] });
  });

  test('RD not asked: not set', () => {
    expect(dnsPacket.decode(responseFor(q(query({ flags: 0 })), { rcode: 'NXDOMAIN' })).flag_rd).toBe(false);
  });

  test('an EDNS query gets an OPT record back; a plain one does not', () => {
    const withOpt = dnsPacket.decode(responseFor(q(query(edns(4096))), { rcode: 'NXDOMAIN' }));
    expect(withOpt.additionals).toMatchObject([{ type: 'OPT', udpPayloadSize: EDNS_PAYLOAD }]);
    expect(dnsPacket.decode(responseFor(q(query()), { rcode: 'NXDOMAIN' })).additionals).toEqual([]);
  });

  test('errorResponse: the rcode, the question, no answers', () => {
    expect(dnsPacket.decode(errorResponse(q(query()), 'SERVFAIL'))).toMatchObject({
      id: 4242,
      rcode: 'SERVFAIL',
      flag_aa: false,
      questions: [{ name: 'ip-10-0-1-5.ec2.internal' }],
      answers: [],
    });
  });
});

describe('UDP size', () => {
  test('512 bytes without EDNS; the EDNS size up to what we offer', () => {
    expect(udpLimit(q(query()))).toBe(512);
    expect(udpLimit(q(query(edns(4096))))).toBe(EDNS_PAYLOAD);
    expect(udpLimit(q(query(edns(800))))).toBe(800);
    expect(udpLimit(q(query(edns(100))))).toBe(512);
  });

  const big = (qq: Query) => {
    const answers = Array.from({ length: 40 }, (_, i) => ({ name: 'ip-10-0-1-5.ec2.internal', type: 'A' as const, data: `10.0.2.${i}`, ttl: 60 }));
    return responseFor(qq, { rcode: 'NOERROR', answers });
  };

  test('a response that fits goes as it is', () => {
    const r = responseFor(q(query()), { rcode: 'NXDOMAIN' });
    expect(fitUdp(q(query()), r, 512)).toBe(r);
  });

  test('over the limit: TC, the question, no records', () => {
    const qq = q(query());
    const full = big(qq);
    expect(full.length).toBeGreaterThan(512);
    const cut = fitUdp(qq, full, 512);
    expect(cut.length).toBeLessThanOrEqual(512);
    expect(dnsPacket.decode(cut)).toMatchObject({
      id: 4242,
      flag_tc: true,
      flag_aa: true,
      rcode: 'NOERROR',
      answers: [],
      questions: [{ name: 'ip-10-0-1-5.ec2.internal', type: 'A' }],
    });
  });
});

describe('TCP framing', () => {
  test('frame and unframe round-trip, several messages and a partial one', () => {
    const a = query();
    const b = query({ id: 7 });
    const stream = Buffer.concat([frame(a), frame(b), frame(a).subarray(0, 5)]);
    const { messages, rest } = unframe(stream);
    expect(messages.map((m) => m.toString('hex'))).toEqual([a.toString('hex'), b.toString('hex')]);
    expect(rest.length).toBe(5);
    expect(unframe(Buffer.from([0])).messages).toEqual([]);
  });
});
