// Smithy RPC v2 CBOR: the wire form (read with the SDK's own codec), round trips through a shape
// with every kind of member, and the refusals of a body that does not fit.
import { cbor, tag } from '@smithy/core/cbor';
import { describe, expect, test } from 'vitest';
import { ApiError } from '../../services/errors.js';
import { CborProtocol } from './cbor.js';
import { full, Root } from './shapes.fixture.js';

const proto = new CborProtocol();
const wire = (output: unknown) => cbor.deserialize(proto.reply(Root, output).body) as Record<string, unknown>;
const body = (doc: unknown) => Buffer.from(cbor.serialize(doc));
const parse = (doc: unknown) => proto.input(Root, body(doc));
const refusal = (bytes: Buffer): ApiError => {
  try {
    proto.input(Root, bytes);
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error('accepted');
};

describe('RPC v2 CBOR wire form', () => {
  test('timestamps are tag 1 epoch seconds (whatever the member timestampFormat), blobs byte strings', () => {
    const w = wire(full());
    expect(w.When).toMatchObject({ tag: 1, value: 1733212800.5 });
    expect(w.Iso).toMatchObject({ tag: 1, value: 1733212801 });
    expect(Buffer.from(w.Data as Uint8Array)).toEqual(Buffer.from([0, 1, 2, 250, 255]));
    expect(w.Big).toBe(2 ** 40 + 1);
    expect(w.Ratio).toBe(0.1);
    expect(w.Items).toEqual([{ Name: 'a', Values: [1, 2.5, -0.25] }, { Name: 'b' }]);
  });

  test('every answer says smithy-protocol: rpc-v2-cbor, errors too; an operation without output answers an empty map', () => {
    const ok = proto.reply(undefined, undefined);
    expect(ok.headers).toEqual({ 'content-type': 'application/cbor', 'smithy-protocol': 'rpc-v2-cbor' });
    expect(cbor.deserialize(ok.body)).toEqual({});
    expect(proto.error(new ApiError('X', 'y'), false).headers['smithy-protocol']).toBe('rpc-v2-cbor');
  });

  test('NaN and the infinities are CBOR floats', () => {
    const w = wire({ Count: 0, Ratio: NaN, Small: -Infinity });
    expect(w.Ratio).toBeNaN();
    expect(w.Small).toBe(-Infinity);
  });
});

describe('RPC v2 CBOR round trip through every kind of member', () => {
  test('what the writer writes, the reader reads back as the same typed value', () => {
    expect(proto.input(Root, proto.reply(Root, full()).body)).toEqual(full());
  });

  test('integer timestamps, bigint longs and integral doubles as the SDK may send them', () => {
    expect(parse({ Count: 1, When: tag({ tag: 1, value: 1733212800 }), Big: 2n ** 50n, Ratio: 3 })).toEqual({
      Count: 1,
      When: new Date('2024-12-03T08:00:00Z'),
      Big: 2 ** 50,
      Ratio: 3,
    });
  });

  test('null members are absent; an empty body is an empty input', () => {
    expect(parse({ Count: 3, Name: null })).toEqual({ Count: 3 });
    expect(proto.input(undefined, Buffer.alloc(0))).toEqual({});
  });
});

describe('RPC v2 CBOR refusals', () => {
  test.each([
    ['an unknown member', { Count: 1, Bogus: 1 }, 'SerializationException', "The member 'Bogus' is not part of the input shape."],
    ['a timestamp without tag 1', { Count: 1, When: 1733212800 }, 'SerializationException', "Value at 'When' cannot be read: a timestamp is expected."],
    ['another tag', { Count: 1, When: tag({ tag: 0, value: '2024-12-03T08:00:00Z' }) }, 'SerializationException', "Value at 'When' cannot be read: a timestamp is expected."],
    ['a text string for a blob', { Count: 1, Data: 'AAEC' }, 'SerializationException', "Value at 'Data' cannot be read: a blob is expected."],
    ['a long past 2^53', { Count: 1, Big: 2n ** 60n }, 'InvalidParameterValue', 'Value (1152921504606846976) for parameter Big is out of range.'],
    ['a float for an integer', { Count: 1.5 }, 'SerializationException', "Value at 'Count' cannot be read: an integer is expected."],
    ['a missing required member', {}, 'MissingParameter', 'The request must contain the parameter Count'],
    [
      'a character XML forbids',
      { Count: 1, Items: [{ Name: '\u0000' }] },
      'InvalidParameterValue',
      'Value for parameter Items[0].Name is invalid: it contains the character U+0000, which XML 1.0 does not allow.',
    ],
  ])('%s', (_what, doc, code, message) => {
    const e = refusal(body(doc));
    expect([e.code, e.message, e.status]).toEqual([code, message, 400]);
  });

  test('bytes that are not CBOR', () => {
    const e = refusal(Buffer.from([0xff, 0xff, 0x1c]));
    expect([e.code, e.message]).toEqual(['SerializationException', 'The request body is not valid CBOR.']);
  });
});

describe('RPC v2 CBOR errors', () => {
  test('a map with __type and message; x-amzn-query-error for a query-compatible service', () => {
    const e = proto.error(new ApiError('UnsupportedOperation', 'not yet'), true);
    expect(cbor.deserialize(e.body)).toEqual({ __type: 'UnsupportedOperation', message: 'not yet' });
    expect(e.headers['x-amzn-query-error']).toBe('UnsupportedOperation;Sender');
    expect(proto.error(new ApiError('UnsupportedOperation', 'not yet'), false).headers['x-amzn-query-error']).toBeUndefined();
  });
});
