// The DNS wire format around our answers (dns-packet does the encoding): which queries we take,
// the response for a lookup's result, and UDP's size limit.
//
// Header flags word (RFC 1035 4.1.1), as dns-packet's `flags` holds it without QR:
//   |QR| Opcode(4) |AA|TC|RD|RA| Z|AD|CD| RCODE(4) |
import dnsPacket, { type Answer, type DecodedPacket, type Packet, type Question } from 'dns-packet';
import type { DnsResult } from './lookup.js';

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
export type Rcode = keyof typeof RCODE;

const AA = dnsPacket.AUTHORITATIVE_ANSWER;
const TC = dnsPacket.TRUNCATED_RESPONSE;
const RD = dnsPacket.RECURSION_DESIRED;
const RA = dnsPacket.RECURSION_AVAILABLE;
const CD = dnsPacket.CHECKING_DISABLED;
const OPCODE_MASK = 0xf << 11;

/** Plain UDP without EDNS (RFC 1035 4.2.1). */
export const UDP_LIMIT = 512;
/** What we offer EDNS clients (the DNS flag day 2020 value: no IP fragmentation). */
export const EDNS_PAYLOAD = 1232;

export type Query = DecodedPacket & { opcode?: string };

/** A query we can read, or undefined (not DNS, or a response: dropped, never answered). */
export function decodeQuery(msg: Buffer): Query | undefined {
  if (msg.length < 12 || msg.length > 65535) return undefined;
  try {
    const q = dnsPacket.decode(msg) as Query;
    if (q.type !== 'query') return undefined;
    return q;
  } catch {
    return undefined;
  }
}

function ednsOf(q: Query): { udpPayloadSize: number } | undefined {
  return q.additionals?.find((a) => a.type === 'OPT') as { udpPayloadSize: number } | undefined;
}

/** How many bytes a UDP answer to this query may have. */
export function udpLimit(q: Query): number {
  const opt = ednsOf(q);
  if (!opt) return UDP_LIMIT;
  return Math.max(UDP_LIMIT, Math.min(opt.udpPayloadSize, EDNS_PAYLOAD));
}

/** Printable ASCII only: the names we answer for are, and a name we cannot echo faithfully gets FORMERR. */
export function saneName(name: string): boolean {
  return name.length > 0 && name.length <= 253 && /^[\x21-\x7e]+$/.test(name);
}

/** Something wrong with the query itself: the rcode to answer with, or undefined when it is fine to look up. */
export function queryProblem(q: Query): Rcode | undefined {
  if (((q.flags ?? 0) & OPCODE_MASK) !== 0) return 'NOTIMP'; // only QUERY (opcode 0)
  if (q.questions?.length !== 1 || q.answers?.length) return 'FORMERR';
  const question = q.questions[0]!;
  if (!saneName(question.name)) return 'FORMERR';
  // CHAOS (version.bind) and the like: not ours.
  if (question.class !== 'IN' && question.class !== 'ANY') return 'REFUSED';
  return undefined;
}

function header(q: Query, rcode: Rcode, aa: boolean): Pick<Packet, 'id' | 'type' | 'flags'> {
  const flags = ((q.flags ?? 0) & (OPCODE_MASK | RD | CD)) | RA | (aa ? AA : 0) | RCODE[rcode];
  return { id: q.id, type: 'response', flags };
}

function echoQuestions(q: Query): Question[] {
  return (q.questions ?? []).map((x) => ({ name: x.name, type: x.type, class: x.class }));
}

function opt(q: Query): Answer[] {
  return ednsOf(q) ? [{ type: 'OPT', name: '.', udpPayloadSize: EDNS_PAYLOAD, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] : [];
}

/** A bare answer with an rcode (FORMERR, SERVFAIL, REFUSED, …): the question echoed, nothing else. */
export function errorResponse(q: Query, rcode: Rcode): Buffer {
  return dnsPacket.encode({ ...header(q, rcode, false), questions: echoQuestions(q), additionals: opt(q) });
}

/** The response to a lookup's result (FORWARD is the server's business: pass its `otherwise`). */
export function responseFor(q: Query, r: Exclude<DnsResult, { rcode: 'FORWARD' }>): Buffer {
  // Our own zones are authoritative; a refusal is not an answer about the name.
  const aa = r.rcode !== 'REFUSED';
  const answers: Answer[] = r.rcode === 'NOERROR' ? r.answers.map((a) => ({ name: a.name, type: a.type, class: 'IN', ttl: a.ttl, data: a.data })) : [];
  return dnsPacket.encode({ ...header(q, r.rcode, aa), questions: echoQuestions(q), answers, additionals: opt(q) });
}

/**
 * A response that fits in `limit` bytes: as it is, or (RFC 2181 9) its header with TC set and the
 * question only, so the client asks again over TCP.
 */
export function fitUdp(q: Query, response: Buffer, limit: number): Buffer {
  if (response.length <= limit) return response;
  const flags = response.readUInt16BE(2) & 0x7fff;
  return dnsPacket.encode({ id: q.id, type: 'response', flags: flags | TC, questions: echoQuestions(q), additionals: opt(q) });
}

/** 2-byte length prefix of DNS over TCP (RFC 1035 4.2.2). */
export function frame(msg: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(msg.length);
  return Buffer.concat([len, msg]);
}

/** Whole messages out of a TCP stream's buffer; `rest` is what is left for the next chunk. */
export function unframe(buf: Buffer): { messages: Buffer[]; rest: Buffer } {
  const messages: Buffer[] = [];
  let off = 0;
  while (buf.length - off >= 2) {
    const len = buf.readUInt16BE(off);
    if (buf.length - off - 2 < len) break;
    messages.push(buf.subarray(off + 2, off + 2 + len));
    off += 2 + len;
  }
  return { messages, rest: buf.subarray(off) };
}
