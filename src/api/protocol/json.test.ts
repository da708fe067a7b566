// awsJson1_0/1_1: the wire form of each kind of member, round trips through a shape with every
// kind, and every refusal (with AWS's codes) of a body that does not fit.
import { describe, expect, test } from 'vitest';
import { ApiError } from '../../services/errors.js';
import { JsonProtocol } from './json.js';
import { full, Root } from './shapes.fixture.js';

const json = new JsonProtocol('1.0');
const wire = (output: unknown) => JSON.parse(json.reply(Root, output).body.toString('utf8')) as Record<string, unknown>;
const parse = (doc: unknown) => json.input(Root, Buffer.from(typeof doc === 'string' ? doc : JSON.stringify(doc)));
const refusal = (doc: unknown): ApiError => {
  try {
    parse(doc);
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error('accepted');
};

describe('awsJson wire form', () => {
  test('timestamps are epoch seconds (iso8601 members ISO strings), blobs base64, absent members left out', () => {
    const w = wire(full());
    expect(w.When).toBe(1733212800.5);
    expect(w.Iso).toBe('2024-12-03T08:00:01.000Z');
    expect(w.Data).toBe('AAEC+v8=');
    expect(w.Items).toEqual([{ Name: 'a', Values: [1, 2.5, -0.25] }, { Name: 'b' }]);
    expect(wire({ Count: 1, Name: undefined, Nested: null })).toEqual({ Count: 1 });
  });

  test('NaN and the infinities travel as strings, both ways', () => {
    expect(wire({ Count: 0, Ratio: NaN, Small: -Infinity }).Ratio).toBe('NaN');
    expect(wire({ Count: 0, Small: -Infinity }).Small).toBe('-Infinity');
    expect(parse({ Count: 0, Ratio: 'Infinity', Small: 'NaN' })).toEqual({ Count: 0, Ratio: Infinity, Small: NaN });
  });

  test('headers: the protocol version in Content-Type; 1.1 differs only there', () => {
    expect(json.reply(Root, { Count: 1 }).headers['content-type']).toBe('application/x-amz-json-1.0');
    expect(new JsonProtocol('1.1').reply(Root, { Count: 1 }).headers['content-type']).toBe('application/x-amz-json-1.1');
  });

  test('an operation without output answers {}', () => {
    expect(json.reply(undefined, undefined).body.toString()).toBe('{}');
  });
});

describe('awsJson round trip through every kind of member', () => {
  test('what the writer writes, the reader reads back as the same typed value', () => {
    expect(parse(wire(full()))).toEqual(full());
  });

  test('a map key "__proto__" is a key like any other', () => {
    const out = parse(JSON.parse('{"Count":1,"Tags":{"__proto__":"x","constructor":"y"}}')) as { Tags: Record<string, string> };
    expect(Object.getPrototypeOf(out.Tags)).toBe(Object.prototype);
    expect(Object.keys(out.Tags)).toEqual(['__proto__', 'constructor']);
    expect(Object.getOwnPropertyDescriptor(out.Tags, '__proto__')?.value).toBe('x');
  });

  test('null members are absent; an empty body is an empty input', () => {
    expect(parse({ Count: 3, Name: null, Items: null })).toEqual({ Count: 3 });
    expect(json.input(undefined, Buffer.alloc(0))).toEqual({});
    expect(json.input(undefined, Buffer.from('{}'))).toEqual({});
  });
});

describe('awsJson refusals', () => {
  test.each([
    ['an unknown member', { Count: 1, Bogus: 1 }, 'SerializationException', "The member 'Bogus' is not part of the input shape."],
    ['an unknown nested member', { Count: 1, Items: [{ Name: 'a', Extra: true }] }, 'SerializationException', "The member 'Items[0].Extra' is not part of the input shape."],
    ['a string for an integer', { Count: '1' }, 'SerializationException', "Value at 'Count' cannot be read: an integer is expected."],
    ['a fraction for an integer', { Count: 1.5 }, 'SerializationException', "Value at 'Count' cannot be read: an integer is expected."],
    ['an integer out of range', { Count: 2 ** 31 }, 'InvalidParameterValue', 'Value (2147483648) for parameter Count is out of range.'],
    ['a number for a string', { Count: 1, Name: 5 }, 'SerializationException', "Value at 'Name' cannot be read: a string is expected."],
    ['a string for a boolean', { Count: 1, Flag: 'true' }, 'SerializationException', "Value at 'Flag' cannot be read: a boolean is expected."],
    ['a string for an epoch timestamp', { Count: 1, When: '2024-12-03' }, 'SerializationException', "Value at 'When' cannot be read: a timestamp is expected."],
    ['a bad date for an iso8601 one', { Count: 1, Iso: 'yesterday' }, 'SerializationException', "Value at 'Iso' cannot be read: a timestamp is expected."],
    ['bad base64', { Count: 1, Data: 'not base64!' }, 'SerializationException', "Value at 'Data' cannot be read: a blob is expected."],
    ['an object for a list', { Count: 1, Items: {} }, 'SerializationException', "Value at 'Items' cannot be read: a list is expected."],
    ['a null in a list', { Count: 1, Items: [null] }, 'SerializationException', "Value at 'Items[0]' cannot be read: a value (lists here are dense) is expected."],
    ['a list for a map', { Count: 1, Tags: [] }, 'SerializationException', "Value at 'Tags' cannot be read: a map is expected."],
    [
      'a member named like an Object property',
      JSON.parse('{"Count":1,"constructor":{}}') as unknown,
      'SerializationException',
      "The member 'constructor' is not part of the input shape.",
    ],
    ['a member named __proto__', JSON.parse('{"Count":1,"__proto__":{"Name":"x"}}') as unknown, 'SerializationException', "The member '__proto__' is not part of the input shape."],
    ['a list for a structure', [], 'SerializationException', "Value at '$' cannot be read: a structure is expected."],
    ['a missing required member', {}, 'MissingParameter', 'The request must contain the parameter Count'],
    ['a missing nested required member', { Count: 1, Nested: {} }, 'MissingParameter', 'The request must contain the parameter Nested.Name'],
    [
      'a character XML forbids',
      { Count: 1, Name: 'a\u0001' },
      'InvalidParameterValue',
      'Value for parameter Name is invalid: it contains the character U+0001, which XML 1.0 does not allow.',
    ],
    [
      'a map key XML forbids',
      { Count: 1, Tags: { 'k\uFFFF': 'v' } },
      'InvalidParameterValue',
      'A key for parameter Tags is invalid: it contains the character U+FFFF, which XML 1.0 does not allow.',
    ],
    ['a body that is not JSON', '{"Count":', 'SerializationException', 'The request body is not valid JSON.'],
  ])('%s', (_what, doc, code, message) => {
    const e = refusal(doc);
    expect([e.code, e.message, e.status]).toEqual([code, message, 400]);
  });

  test('a member for an operation without input', () => {
    expect(() => json.input(undefined, Buffer.from('{"A":1}'))).toThrow("The member 'A' is not part of this operation's input.");
  });
});

describe('awsJson errors', () => {
  test('__type and message; x-amzn-query-error with the fault for a query-compatible service', () => {
    const client = json.error(new ApiError('InvalidParameterValue', 'bad'), true);
    expect(JSON.parse(client.body.toString())).toEqual({ __type: 'InvalidParameterValue', message: 'bad' });
    expect(client.headers).toEqual({ 'content-type': 'application/x-amz-json-1.0', 'x-amzn-query-error': 'InvalidParameterValue;Sender' });
    expect(json.error(new ApiError('InternalError', 'x', 500), true).headers['x-amzn-query-error']).toBe('InternalError;Receiver');
    expect(json.error(new ApiError('InternalError', 'x', 500), false).headers['x-amzn-query-error']).toBeUndefined();
  });
});
