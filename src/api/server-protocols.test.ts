import { randomBytes } from 'node:crypto';
import { SecretBox } from '../lib/secrets.js';
// A full input/output round trip through each protocol CloudWatch's model lists, with the SDK's
// own serializers on the client side and a test-double handler map on the server side (the real
// ApiServer, SigV4 and Dispatcher; no CloudWatch behaviour: the handlers echo what they got).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  CloudWatchClient,
  GetMetricStatisticsCommand,
  GetMetricWidgetImageCommand,
  PutMetricDataCommand,
  type Datapoint,
  type GetMetricStatisticsCommandInput,
  type GetMetricWidgetImageCommandInput,
  type PutMetricDataCommandInput,
} from '@aws-sdk/client-cloudwatch';
import { AwsJson1_0Protocol, AwsQueryProtocol, AwsSmithyRpcV2CborProtocol } from '@aws-sdk/core/protocols';
import { cbor } from '@smithy/core/cbor';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { openApp } from '../app.js';
import { loadConfig } from '../config.js';
import type { Credentials } from '../services/accounts.js';
import { handlerMap, type CloudWatchHandlers } from '../services/context.js';
import { loadModel } from '../models/index.js';
import { ApiError } from '../services/errors.js';
import type { Db } from '../store/db.js';
import { Dispatcher } from './dispatch.js';
import { ApiServer, decodeContent, documentWireOf } from './server.js';

let dir: string;
let db: Db;
let server: ApiServer;
let url: string;
let admin: Credentials;
let seen: { op: string; input: unknown }[];

// What the handlers answer: every kind of member the output shapes have.
const datapoints: Datapoint[] = [
  {
    Timestamp: new Date('2024-12-03T08:00:00.250Z'),
    SampleCount: 3,
    Average: 0.1,
    Sum: 1e300,
    Minimum: -0.5,
    Maximum: 42,
    Unit: 'Milliseconds',
    ExtendedStatistics: { p99: 41.5, 'p99.9': 42 },
  },
  { Timestamp: new Date('2024-12-03T08:01:00Z'), Average: 7 },
];
const image = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff, 0x0a]);

const handlers = {
  async GetMetricStatistics(_ctx, input: GetMetricStatisticsCommandInput) {
    seen.push({ op: 'GetMetricStatistics', input });
    return { Label: input.MetricName, Datapoints: datapoints };
  },
  async PutMetricData(_ctx, input: PutMetricDataCommandInput) {
    seen.push({ op: 'PutMetricData', input });
    return {};
  },
  async GetMetricWidgetImage(_ctx, input: GetMetricWidgetImageCommandInput) {
    seen.push({ op: 'GetMetricWidgetImage', input });
    if (input.MetricWidget === 'refuse') throw new ApiError('InvalidParameterValue', 'The widget is not valid JSON.');
    return { MetricWidgetImage: image };
  },
} satisfies CloudWatchHandlers;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cumulo-protocols-'));
  const config = loadConfig({ CUMULO_HOME: dir, CUMULO_PORT: '0' });
  const opened = await openApp(config);
  db = opened.db;
  admin = await opened.accounts.ensureAdmin();
  const dispatcher = new Dispatcher(
    { secrets: new SecretBox(randomBytes(32)), db, config, wake: () => {} },
    new Map([['monitoring', { handlers: handlerMap(handlers), model: () => loadModel('monitoring') }]]),
  );
  server = new ApiServer({ config, dispatcher, accounts: opened.accounts });
  const addr = await server.listen(0, '127.0.0.1');
  url = `http://127.0.0.1:${addr.port}`;
});
afterAll(async () => {
  await server?.close();
  await db?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  seen = [];
});

// The client's protocol is chosen by class (the default is awsJson1_0); each sends its own Content-Type.
const protocols = [
  ['rpcv2Cbor', AwsSmithyRpcV2CborProtocol, 'application/cbor'],
  ['awsJson1_0', AwsJson1_0Protocol, 'application/x-amz-json-1.0'],
  ['awsQuery', AwsQueryProtocol, 'application/x-www-form-urlencoded'],
] as const;

/** Content-Types of the requests the clients sent: proof of the protocol each really spoke. */
let sent: string[] = [];
/** Their Content-Encodings ('' when none). */
let encodings: string[] = [];

const client = (protocol: (typeof protocols)[number][1]) => {
  const c = new CloudWatchClient({
    endpoint: url,
    region: 'us-east-1',
    credentials: { accessKeyId: admin.accessKeyId, secretAccessKey: admin.secretAccessKey },
    maxAttempts: 1,
    protocol,
  });
  c.middlewareStack.add(
    (next) => (args) => {
      const headers = (args.request as { headers: Record<string, string> }).headers;
      sent.push(String(headers['content-type']).split(';')[0]!);
      encodings.push(headers['content-encoding'] ?? '');
      return next(args);
    },
    { step: 'finalizeRequest' },
  );
  return c;
};

describe.each(protocols)('round trip over %s', (_name, protocol, contentType) => {
  beforeEach(() => {
    sent = [];
    encodings = [];
  });
  afterEach(() => {
    expect(sent.length).toBeGreaterThan(0);
    expect(new Set(sent)).toEqual(new Set([contentType]));
  });

  test('timestamps, doubles, integers, lists and nested structures in; the same kinds and a map out', async () => {
    const input: GetMetricStatisticsCommandInput = {
      Namespace: 'app',
      MetricName: 'latency',
      Dimensions: [
        { Name: 'host', Value: 'a' },
        { Name: 'zone', Value: 'us-east-1a' },
      ],
      StartTime: new Date('2024-12-03T08:00:00.500Z'),
      EndTime: new Date('2024-12-03T09:00:00Z'),
      Period: 60,
      Statistics: ['Average', 'Sum'],
      ExtendedStatistics: ['p99'],
      Unit: 'Milliseconds',
    };
    const out = await client(protocol).send(new GetMetricStatisticsCommand(input));
    expect(seen).toEqual([{ op: 'GetMetricStatistics', input }]);
    expect(out.Label).toBe('latency');
    expect(out.Datapoints).toEqual(datapoints);
  });

  test('lists of doubles, maps, booleans and nested structures in a mutating call', async () => {
    const input: PutMetricDataCommandInput = {
      Namespace: 'app',
      MetricData: [
        { MetricName: 'a', Timestamp: new Date('2024-12-03T08:00:00Z'), Value: 0.30000000000000004, StorageResolution: 1 },
        { MetricName: 'b', Values: [1, 2.5, -3e-7], Counts: [10, 1, 2], StatisticValues: { SampleCount: 13, Sum: 12.5, Minimum: -3e-7, Maximum: 2.5 } },
      ],
      EntityMetricData: [
        {
          Entity: { KeyAttributes: { Type: 'Service', Name: 'web', Environment: 'prod' }, Attributes: { 'team.name': 'a b', empty: '' } },
          MetricData: [{ MetricName: 'c', Value: -1, Unit: 'Count' }],
        },
      ],
      StrictEntityValidation: false,
    };
    await client(protocol).send(new PutMetricDataCommand(input));
    expect(seen).toEqual([{ op: 'PutMetricData', input }]);
  });

  test('a body past 10 KiB comes gzipped (PutMetricData is @requestCompression) and is read whole', async () => {
    const input: PutMetricDataCommandInput = {
      Namespace: 'app',
      MetricData: Array.from({ length: 300 }, (_, i) => ({ MetricName: `metric-${i}`, Dimensions: [{ Name: 'host', Value: `host-${i}` }], Value: i / 7 })),
    };
    const c = client(protocol);
    if (protocol === AwsSmithyRpcV2CborProtocol) {
      // @aws-sdk/client-cloudwatch 3.1178 over CBOR sets Content-Length from the body before it
      // gzips it (SmithyRpcV2CborProtocol.applyEmptyBody), so the request announces more bytes than
      // it sends and waits for an answer no server can give (AWS's included). Until the SDK is
      // fixed (then the first expectation fails: drop this), set it from the sent body, after the
      // compression (build, high) and before signing (finalizeRequest).
      const lengths: [string, number][] = [];
      c.middlewareStack.add(
        (next) => (args) => {
          const req = args.request as { headers: Record<string, string>; body: Uint8Array };
          lengths.push([req.headers['content-length']!, req.body.byteLength]);
          req.headers['content-length'] = String(req.body.byteLength);
          return next(args);
        },
        { step: 'build', priority: 'low' },
      );
      await c.send(new PutMetricDataCommand(input));
      expect(Number(lengths[0]![0])).toBeGreaterThan(lengths[0]![1]);
    } else {
      await c.send(new PutMetricDataCommand(input));
    }
    expect(encodings).toEqual(['gzip']);
    expect(seen).toEqual([{ op: 'PutMetricData', input }]);
  });

  test('a blob out', async () => {
    const out = await client(protocol).send(new GetMetricWidgetImageCommand({ MetricWidget: '{"metrics":[]}', OutputFormat: 'png' }));
    expect(Buffer.from(out.MetricWidgetImage!)).toEqual(image);
  });

  test("a handler's error comes back as the modeled exception the Query code names", async () => {
    const e = (await client(protocol)
      .send(new GetMetricWidgetImageCommand({ MetricWidget: 'refuse' }))
      .catch((x: unknown) => x)) as Error & { $metadata: { httpStatusCode: number } };
    expect(e.name).toBe('InvalidParameterValueException');
    expect(e.message).toBe('The widget is not valid JSON.');
    expect(e.$metadata.httpStatusCode).toBe(400);
  });
});

/** A signed POST to monitoring with a body the SDK would never send. */
async function raw(path: string, headers: Record<string, string>, body: string | Uint8Array): Promise<{ status: number; headers: Headers; bytes: Buffer }> {
  const u = new URL(url);
  const signer = new SignatureV4({
    credentials: admin,
    region: 'us-east-1',
    service: 'monitoring',
    sha256: Hash.bind(null, 'sha256'),
    uriEscapePath: true,
    applyChecksum: false,
  });
  const req = await signer.sign(
    new HttpRequest({ method: 'POST', protocol: 'http:', hostname: u.hostname, port: Number(u.port), path, headers: { host: u.host, ...headers }, body }),
  );
  const res = await fetch(new URL(path, url), { method: 'POST', headers: req.headers as Record<string, string>, body });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

describe('what the SDKs never send, refused before the handler runs', () => {
  const GRANITE = 'GraniteServiceVersion20100801';
  const json = (body: unknown) => raw('/', { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': `${GRANITE}.GetMetricWidgetImage` }, JSON.stringify(body));
  const viaCbor = (body: unknown) =>
    raw(`/service/${GRANITE}/operation/GetMetricWidgetImage`, { 'content-type': 'application/cbor', 'smithy-protocol': 'rpc-v2-cbor' }, cbor.serialize(body));

  test('an unknown member: SerializationException, naming it (JSON)', async () => {
    const r = await json({ MetricWidget: '{}', Colour: 'red' });
    expect(r.status).toBe(400);
    expect(r.headers.get('x-amzn-query-error')).toBe('SerializationException;Sender');
    expect(JSON.parse(r.bytes.toString())).toEqual({ __type: 'SerializationException', message: "The member 'Colour' is not part of the input shape." });
    expect(seen).toEqual([]);
  });

  test('a member of the wrong type and a missing required one (CBOR)', async () => {
    const wrong = await viaCbor({ MetricWidget: 7 });
    expect(cbor.deserialize(wrong.bytes)).toEqual({
      __type: 'SerializationException',
      message: "Value at 'MetricWidget' cannot be read: a string is expected.",
    });
    const missing = await viaCbor({ OutputFormat: 'png' });
    expect(missing.headers.get('smithy-protocol')).toBe('rpc-v2-cbor');
    expect(cbor.deserialize(missing.bytes)).toEqual({ __type: 'MissingParameter', message: 'The request must contain the parameter MetricWidget' });
    expect(seen).toEqual([]);
  });

  test('a body that is not JSON, and a CBOR body sent as something else', async () => {
    expect(
      JSON.parse((await raw('/', { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': `${GRANITE}.GetMetricWidgetImage` }, '{"MetricWidget":')).bytes.toString()).__type,
    ).toBe('SerializationException');
    const r = await raw(`/service/${GRANITE}/operation/GetMetricWidgetImage`, { 'content-type': 'application/json', 'smithy-protocol': 'rpc-v2-cbor' }, '{"MetricWidget":"{}"}');
    expect(r.status).toBe(415);
    expect(cbor.deserialize(r.bytes)).toEqual({
      __type: 'UnsupportedMediaTypeException',
      message: "A request with a body must have Content-Type application/cbor, not 'application/json'.",
    });
    expect(seen).toEqual([]);
  });
});

describe('which protocol a request speaks, from its headers', () => {
  test.each([
    [{ 'smithy-protocol': 'rpc-v2-cbor', 'content-type': 'application/cbor' }, 'rpcv2-cbor'],
    [{ 'smithy-protocol': 'RPC-V2-CBOR' }, 'rpcv2-cbor'],
    [{ 'x-amz-target': 'GraniteServiceVersion20100801.ListMetrics', 'content-type': 'application/x-amz-json-1.0' }, 'json1.0'],
    [{ 'x-amz-target': 'X.Y', 'content-type': 'application/x-amz-json-1.1; charset=utf-8' }, 'json1.1'],
    // Without both halves, or in a protocol no model lists, it is read as Query.
    [{ 'x-amz-target': 'X.Y', 'content-type': 'application/json' }, undefined],
    [{ 'content-type': 'application/x-amz-json-1.0' }, undefined],
    [{ 'smithy-protocol': 'rpc-v2-json' }, undefined],
    [{ 'content-type': 'application/x-www-form-urlencoded' }, undefined],
  ])('%j → %s', (headers, wire) => {
    expect(documentWireOf(headers)).toBe(wire);
  });
});

describe('Content-Encoding', () => {
  const big = Buffer.from('Action=PutMetricData&'.repeat(1000));
  test('none, identity and gzip are read; gzip is inflated', () => {
    expect(decodeContent(undefined, big, 1 << 20)).toBe(big);
    expect(decodeContent('identity', big, 1 << 20)).toBe(big);
    expect(decodeContent('GZIP', gzipSync(big), 1 << 20)).toEqual(big);
  });

  test.each([
    ['a body that inflates past the limit', 'gzip', gzipSync(Buffer.alloc(1 << 20)), 'InvalidRequest', 413],
    ['bytes that are not gzip', 'gzip', Buffer.from('not gzip'), 'InvalidRequest', 400],
    ['an encoding no SDK sends', 'br', Buffer.from('x'), 'InvalidRequest', 415],
    ['two encodings', 'gzip, gzip', gzipSync(gzipSync(Buffer.from('x'))), 'InvalidRequest', 415],
  ])('%s is refused', (_what, encoding, body, code, status) => {
    let err: ApiError | undefined;
    try {
      decodeContent(encoding, body, 64 * 1024);
    } catch (e) {
      err = e as ApiError;
    }
    expect([err?.code, err?.status]).toEqual([code, status]);
  });
});
