// The wire format, proven against the real client: for every operation of every served model,
// random inputs go through @aws-sdk/client-* Commands (captured before they leave the process) and
// must parse back to exactly what the SDK was given; random outputs rendered by our serializer must
// parse in the SDK to exactly what was rendered; and our error envelopes must become the SDK's
// exceptions with their code, message, request id and status. No server involved.
import { gunzipSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import * as ec2sdk from '@aws-sdk/client-ec2';
import * as stssdk from '@aws-sdk/client-sts';
import { HttpResponse, type HttpRequest } from '@smithy/protocol-http';
import { ApiError } from '../src/services/errors.js';
import { buildParamTree, QueryParser, refuseXmlForbidden } from '../src/api/protocol/query.js';
import { escapeXml, renderError, renderResponse } from '../src/api/protocol/xml.js';
import { AwsQueryProtocol } from '@aws-sdk/core/protocols';
import { loadModel, serviceNames, type ServiceModel, type Shape } from '../src/models/index.js';
import { generate, Rng, toQueryParams } from './model-gen.js';
import { ModelSdkDiff, sdkCommands } from './sdk-schema.js';
import { expatProblems, xmlProblem } from './xml-strict.js';

const REGION = 'us-east-1';
/** Random samples per operation and direction; sample 0 fills every optional member the budget allows. */
const SAMPLES = 4;

interface Canned {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A requestHandler that keeps the last request and answers with whatever `respond` says. */
class Capture {
  last?: HttpRequest;
  respond: () => Canned = () => ({ status: 200, headers: {}, body: '' });
  async handle(request: HttpRequest): Promise<{ response: HttpResponse }> {
    this.last = request;
    const r = this.respond();
    return { response: new HttpResponse({ statusCode: r.status, headers: r.headers, body: Buffer.from(r.body, 'utf8') }) };
  }
  updateHttpClientConfig(): void {}
  httpHandlerConfigs(): Record<string, never> {
    return {};
  }
}

interface Service {
  name: string;
  model: ServiceModel;
  commands: ReturnType<typeof sdkCommands>;
  diff: ModelSdkDiff;
  capture: Capture;
  send(command: unknown): Promise<Record<string, unknown>>;
}

/** The client package of each served service, and its client class. */
const CLIENTS: Record<string, [string, string]> = {
  ec2: ['@aws-sdk/client-ec2', 'EC2Client'],
  sts: ['@aws-sdk/client-sts', 'STSClient'],
  iam: ['@aws-sdk/client-iam', 'IAMClient'],
  autoscaling: ['@aws-sdk/client-auto-scaling', 'AutoScalingClient'],
  elasticloadbalancing: ['@aws-sdk/client-elastic-load-balancing-v2', 'ElasticLoadBalancingV2Client'],
  monitoring: ['@aws-sdk/client-cloudwatch', 'CloudWatchClient'],
};

async function service(name: string): Promise<Service> {
  const model = loadModel(name)!;
  const [pkg, clientName] = CLIENTS[name]!;
  const mod = (name === 'ec2' ? ec2sdk : name === 'sts' ? stssdk : await import(pkg)) as unknown as Record<string, unknown>;
  const commands = sdkCommands(mod);
  const capture = new Capture();
  const config: Record<string, unknown> = {
    region: REGION,
    endpoint: 'http://cumulo.test',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    maxAttempts: 1,
    requestHandler: capture,
  };
  if (model.protocol === 'query' && !model.protocols[0]!.startsWith('query')) {
    // The SDK's own client prefers another of the model's protocols (CloudWatch: CBOR); the Query
    // round trip here drives it with the SDK's awsQuery implementation, which the model also lists.
    config.protocol = AwsQueryProtocol;
    config.protocolSettings = { defaultNamespace: `com.amazonaws.${name}`, xmlNamespace: model.xmlNamespace, version: model.apiVersion };
  }
  const Client = mod[clientName] as new (c: unknown) => { send(c: unknown): Promise<unknown> };
  const client = new Client(config);
  return {
    name,
    model,
    commands,
    diff: new ModelSdkDiff(model, commands),
    capture,
    send: (command) => client.send(command) as Promise<Record<string, unknown>>,
  };
}

/** Every service with a model (src/models/data): each must have its client package installed. */
const services = await Promise.all(serviceNames.filter((n) => loadModel(n)).map(service));
const byName = (n: string) => services.find((s) => s.name === n)!;

/** A stable seed per operation and sample, so a failure can be replayed on its own. */
function seedOf(op: string, sample: number): number {
  let h = 2166136261;
  for (const c of `${op}#${sample}`) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return h >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Comparison. Values are brought to one plain form (Date → ISO string, bytes → base64) and the
// *expected* side gets exactly the SDK's documented normalisations, each explained where applied.

const NOTHING = Symbol('nothing on the wire');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function plain(v: unknown): unknown {
  if (v instanceof Date) return { $date: v.toISOString() };
  if (v instanceof Uint8Array) return { $blob: Buffer.from(v).toString('base64') };
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = plain(x);
    return out;
  }
  return v;
}

/**
 * What our parser must produce for an input the SDK was given. The Query protocol cannot say
 * "empty": EC2 sends nothing for an empty list (awsQuery sends `Name=`), nothing for a structure
 * with nothing set, and skips the index of a list item that wrote nothing. Members the SDK fills in
 * on its own (Smithy @idempotencyToken: a UUID v4) are taken from the parse, after checking they are one.
 */
function expectInput(svc: Service, shape: Shape, value: unknown, parsed: unknown, top = false): unknown {
  const dialect = svc.model.protocol;
  switch (shape.type) {
    case 'structure': {
      const obj = value as Record<string, unknown>;
      const got = (parsed ?? {}) as Record<string, unknown>;
      const members = Object.values(shape.members!);
      const out: Record<string, unknown> = {};
      let any = top || members.some((m) => m.idempotencyToken);
      for (const m of members) {
        const v = obj[m.name];
        if (v === undefined) {
          if (m.idempotencyToken) {
            const t = got[m.name];
            out[m.name] = typeof t === 'string' && UUID.test(t) ? t : '<an idempotency token (UUID v4)>';
          }
          continue;
        }
        const e = expectInput(svc, m.shape, v, got[m.name]);
        if (e !== NOTHING) {
          out[m.name] = e;
          any = true;
        }
      }
      return any ? out : NOTHING;
    }
    case 'list': {
      const items = value as unknown[];
      if (items.length === 0) return dialect === 'query' ? [] : NOTHING;
      const got = Array.isArray(parsed) ? parsed : [];
      const out: unknown[] = [];
      for (const item of items) {
        const e = expectInput(svc, shape.member!.shape, item, got[out.length]);
        if (e !== NOTHING) out.push(e);
      }
      return out.length ? out : NOTHING;
    }
    case 'map': {
      const entries = Object.entries(value as Record<string, unknown>);
      if (!entries.length) return NOTHING;
      const got = (parsed ?? {}) as Record<string, unknown>;
      return Object.fromEntries(entries.map(([k, v]) => [k, expectInput(svc, shape.value!.shape, v, got[k])]));
    }
    default:
      return plain(value);
  }
}

/**
 * What the SDK must parse from our rendering of an output. Only one normalisation: the SDK's XML
 * parser (like most) drops text that is only whitespace when it contains a line break — it cannot
 * tell it from indentation — so such a string reads back as ''.
 */
function expectOutput(shape: Shape, value: unknown): unknown {
  switch (shape.type) {
    case 'structure': {
      const out: Record<string, unknown> = {};
      for (const m of Object.values(shape.members!)) {
        const v = (value as Record<string, unknown>)[m.name];
        if (v !== undefined) out[m.name] = expectOutput(m.shape, v);
      }
      return out;
    }
    case 'list':
      return (value as unknown[]).map((x) => expectOutput(shape.member!.shape, x));
    case 'map':
      return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, expectOutput(shape.value!.shape, v)]));
    case 'string': {
      const s = value as string;
      return s.trim() === '' && /[\r\n]/.test(s.replace(/\r(?!\n)/g, '')) ? '' : s;
    }
    default:
      return plain(value);
  }
}

function commandFor(svc: Service, op: string, input: unknown): unknown {
  const Ctor = svc.commands.get(op)!;
  return new Ctor(input);
}

function sortedPairs(pairs: Iterable<[string, string]>): string[] {
  return [...pairs].map(([k, v]) => `${k}=${JSON.stringify(v)}`).sort();
}

// ---------------------------------------------------------------------------------------------

describe('the model we serve and the SDK v3 client', () => {
  test('every service cumulo serves has a current model', () => {
    expect(services.map((s) => s.name)).toEqual(serviceNames);
  });

  for (const svc of services) {
    test(`${svc.name}: the served model is the SDK's, operation by operation and member by member`, () => {
      console.log(`${svc.name}: ${svc.model.operations.size} model operations, ${svc.commands.size} SDK v3 commands (${svc.model.generatedFrom})`);
      // No skip list: the round trips below use every member of every operation, so the model and
      // the SDK must agree on all of them (the generator reads the SDK's schemas; this checks it).
      expect(svc.diff.disagreements).toEqual([]);
      expect(svc.model.operations.size).toBe(svc.commands.size);
    });
  }

  test('EC2 has every operation of the current model', () => {
    expect(byName('ec2').model.operations.size).toBeGreaterThanOrEqual(765);
  });
});

for (const svc of services) {
  const parser = new QueryParser(svc.model.protocol);
  const ops = [...svc.model.operations.values()];

  describe(`${svc.name} requests: SDK v3 serializer → our parser`, () => {
    test.each(ops.map((op) => [op.name, op] as const))('%s', async (name, op) => {
      for (let sample = 0; sample < SAMPLES; sample++) {
        const rng = new Rng(seedOf(name, sample));
        const input = op.input ? (generate(op.input, rng, { optional: sample === 0 ? 1 : 0.5 }) as Record<string, unknown>) : {};
        svc.capture.respond = () => ({ status: 200, headers: {}, body: minimalResponse(svc, name) });
        await svc.send(commandFor(svc, name, structuredClone(input)));
        const req = svc.capture.last!;
        expect(req.method).toBe('POST');
        expect(String(req.headers['content-type'])).toMatch(/^application\/x-www-form-urlencoded/);
        let body = String(req.body ?? '');
        if (req.headers['content-encoding'] === 'gzip') {
          // Smithy @requestCompression (CloudWatch PutMetricData): the SDK gzips a body over 10 KiB.
          expect(name).toBe('PutMetricData');
          body = gunzipSync(req.body as Uint8Array).toString('utf8');
        }
        const pairs = [...new URLSearchParams(body)];
        const keys = pairs.map(([k]) => k);
        expect(new Set(keys).size, `duplicate keys in ${body.slice(0, 200)}`).toBe(keys.length);
        const params = new Map(pairs);
        expect(params.get('Action')).toBe(name);
        expect(params.get('Version')).toBe(svc.model.apiVersion);
        params.delete('Action');
        params.delete('Version');

        const parsed = parser.parse(op.input, buildParamTree(params));
        const expected = op.input ? (expectInput(svc, op.input, input, parsed, true) as Record<string, unknown>) : {};
        if (name === 'CopySnapshot' && !input.PresignedUrl) {
          // The SDK presigns a CopySnapshot for the source region and adds it, with the destination.
          expect(String(parsed.PresignedUrl)).toMatch(/^https:\/\/[^?]+\?.*X-Amz-Signature=/);
          expected.PresignedUrl = parsed.PresignedUrl;
          expected.DestinationRegion = input.DestinationRegion ?? REGION;
        }
        expect(plain(parsed), `sample ${sample}, seed ${seedOf(name, sample)}`).toEqual(expected);

        // The fuzzer builds its raw requests with toQueryParams: it must write what the SDK writes.
        const ours = op.input ? toQueryParams(op.input, input, svc.model.protocol) : [];
        const oursKeys = new Set(ours.map(([k]) => k));
        const sdkOnly = [...params].filter(([k]) => !oursKeys.has(k));
        expect(sortedPairs([...params].filter(([k]) => oursKeys.has(k)))).toEqual(sortedPairs(ours));
        for (const [k] of sdkOnly) expect(k, 'a parameter only the SDK writes').toMatch(/(ClientToken|Token|PresignedUrl|DestinationRegion)$/);
      }
    });
  });

  describe(`${svc.name} responses: our serializer → SDK v3 parser`, () => {
    test.each(ops.map((op) => [op.name, op] as const))('%s', async (name, op) => {
      for (let sample = 0; sample < SAMPLES; sample++) {
        const rng = new Rng(seedOf(name, 1000 + sample));
        const output = op.output ? (generate(op.output, rng, { optional: sample === 0 ? 1 : 0.5 }) as Record<string, unknown>) : {};
        const rid = `rid-${sample}-${name}`;
        const xml = renderResponse(svc.model, op, output, rid);
        svc.capture.respond = () => ({ status: 200, headers: { 'content-type': 'text/xml;charset=UTF-8', 'x-amzn-requestid': rid }, body: xml });
        const got = await svc.send(commandFor(svc, name, name === 'CopySnapshot' ? { SourceRegion: REGION, SourceSnapshotId: 'snap-1' } : {}));
        const { $metadata, ...rest } = got as { $metadata: { requestId?: string; httpStatusCode?: number } };
        expect($metadata.requestId).toBe(rid);
        expect($metadata.httpStatusCode).toBe(200);
        const expected = op.output ? expectOutput(op.output, output) : {};
        expect(plain(rest), `sample ${sample}, seed ${seedOf(name, 1000 + sample)}`).toEqual(expected);
      }
    });
  });
}

/** The smallest successful answer for an operation (the SDK parses it; its content is not the point here). */
function minimalResponse(svc: Service, op: string): string {
  return renderResponse(svc.model, svc.model.operations.get(op)!, {}, 'req-1');
}

describe('error envelopes: renderError → the SDK exception', () => {
  const cases: [string, number, string][] = [
    ['InvalidInstanceID.NotFound', 400, "The instance ID 'i-1a2b3c4d' does not exist"],
    ['InvalidParameterValue', 400, 'Value (<&>"\' + = /) for parameter is invalid: ünïcødé 😀'],
    ['MissingParameter', 400, 'The request must contain the parameter ImageId'],
    ['DryRunOperation', 412, 'Request would have succeeded, but DryRun flag is set.'],
    ['AuthFailure', 401, 'AWS was not able to validate the provided access credentials'],
    ['SignatureDoesNotMatch', 403, 'The request signature we calculated does not match the signature you provided.'],
    ['UnauthorizedOperation', 403, 'You are not authorized to perform this operation.'],
    ['Gateway.NotAttached', 400, 'resource igw-1 is not attached'],
    ['RequestLimitExceeded', 503, 'Request limit exceeded.'],
    ['InternalError', 500, 'An internal error has occurred'],
  ];
  const ec2 = byName('ec2');
  const sts = byName('sts');

  test.each(cases)('ec2 %s (%i)', async (code, status, message) => {
    const rid = `err-${code}`;
    const xml = renderError('ec2', new ApiError(code, message, status), rid);
    expect(xml).toContain(`<RequestID>${rid}</RequestID>`);
    // Exactly what the server sends: the envelope and the request id header (the SDK v3 takes the
    // id from x-amzn-requestid only; botocore reads <RequestID>, checked above).
    ec2.capture.respond = () => ({ status, headers: { 'content-type': 'text/xml;charset=UTF-8', 'x-amzn-requestid': rid }, body: xml });
    const e = (await ec2.send(new ec2sdk.DescribeRegionsCommand({})).catch((x: unknown) => x)) as ec2sdk.EC2ServiceException;
    expect(e).toBeInstanceOf(ec2sdk.EC2ServiceException);
    expect(e.name).toBe(code);
    expect(e.message).toBe(message);
    expect(e.$metadata.httpStatusCode).toBe(status);
    expect(e.$metadata.requestId).toBe(rid);
    expect(e.$fault).toBe(status >= 500 ? 'server' : 'client');
  });

  test.each(cases)('sts %s (%i)', async (code, status, message) => {
    const rid = `sts-${code}`;
    const xml = renderError('query', new ApiError(code, message, status), rid, sts.model.xmlNamespace);
    sts.capture.respond = () => ({ status, headers: { 'content-type': 'text/xml', 'x-amzn-requestid': rid }, body: xml });
    const e = (await sts.send(new stssdk.GetCallerIdentityCommand({})).catch((x: unknown) => x)) as stssdk.STSServiceException;
    expect(e).toBeInstanceOf(stssdk.STSServiceException);
    expect(e.name).toBe(code);
    expect(e.message).toBe(message);
    expect(e.$metadata.httpStatusCode).toBe(status);
    expect(e.$metadata.requestId).toBe(rid);
    expect(e.$fault).toBe(status >= 500 ? 'server' : 'client');
  });
});

describe('STS GetCallerIdentity both ways', () => {
  const sts = byName('sts');
  const op = sts.model.operations.get('GetCallerIdentity')!;

  test('request: Action and Version only', async () => {
    sts.capture.respond = () => ({ status: 200, headers: {}, body: minimalResponse(sts, 'GetCallerIdentity') });
    await sts.send(new stssdk.GetCallerIdentityCommand({}));
    const req = sts.capture.last!;
    expect(sortedPairs(new URLSearchParams(String(req.body)))).toEqual(['Action="GetCallerIdentity"', 'Version="2011-06-15"']);
    expect(new QueryParser('query').parse(op.input, buildParamTree([]))).toEqual({});
  });

  test('response: the awsQuery envelope with its result wrapper', async () => {
    const out = { UserId: '123456789012', Account: '123456789012', Arn: 'arn:aws:iam::123456789012:root' };
    const xml = renderResponse(sts.model, op, out, 'rid-gci');
    expect(xml).toContain('<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>');
    expect(xml).toContain('<ResponseMetadata><RequestId>rid-gci</RequestId></ResponseMetadata>');
    sts.capture.respond = () => ({ status: 200, headers: { 'content-type': 'text/xml', 'x-amzn-requestid': 'rid-gci' }, body: xml });
    const got = await sts.send(new stssdk.GetCallerIdentityCommand({}));
    const { $metadata, ...rest } = got as { $metadata: { requestId?: string } };
    expect(rest).toEqual(out);
    expect($metadata.requestId).toBe('rid-gci');
  });
});

describe('characters XML 1.0 forbids', () => {
  // Every C0 control but tab, LF and CR; the two noncharacters; lone surrogates of both halves.
  const forbidden = [...Array.from({ length: 0x20 }, (_, i) => String.fromCharCode(i)).filter((c) => !'\t\n\r'.includes(c)), '\uFFFE', '\uFFFF', '\uD800', '\uDFFF'];
  const ec2 = byName('ec2');

  test('the parser refuses each one, in a name or a value, without echoing it', () => {
    for (const c of forbidden) {
      for (const params of [[['Description', `a${c}b`]], [[`Filter.1${c}`, 'x']], [['Action', `Describe${c}Images`]]] as [string, string][][]) {
        let err: ApiError | undefined;
        try {
          refuseXmlForbidden(params);
        } catch (e) {
          err = e as ApiError;
        }
        expect(err?.code).toBe('InvalidParameterValue');
        expect(err!.message).not.toContain(c);
        expect(err!.message).toContain(`U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`);
      }
    }
    // What XML allows passes: tab, LF, CR, a surrogate pair, U+FFFD, C1 controls, U+2028.
    expect(() => refuseXmlForbidden([['Description', 'a\tb\nc\rd 😀 \uFFFD \u0085 \u2028']])).not.toThrow();
  });

  test('the writer never emits one: each becomes U+FFFD, in values and in error messages', async () => {
    expect(escapeXml('a\u0001b\uD800c😀\uFFFE\td')).toBe('a\uFFFDb\uFFFDc😀\uFFFD\td');
    // Joined with a letter between each: '\uD800' + '\uDFFF' side by side would be a valid pair.
    const all = forbidden.join('x') + '<&>"\'\r 😀';
    const op = ec2.model.operations.get('DescribeImages')!;
    const docs = [
      renderResponse(ec2.model, op, { Images: [{ ImageId: 'ami-0123456789abcdef0', Description: all, Name: all, Tags: [{ Key: all, Value: all }] }] }, 'rid'),
      renderError('ec2', new ApiError('InvalidAction', `The action ${all} is not valid for this web service (AmazonEC2).`), 'rid'),
      renderError('query', new ApiError('UnknownParameter', `The parameter ${all} is not recognized`), 'rid', 'https://sts.amazonaws.com/doc/2011-06-15/'),
    ];
    for (const d of docs) expect(xmlProblem(Buffer.from(d))).toBeUndefined();
    expect(await expatProblems(docs.map((d) => Buffer.from(d)))).toEqual([null, null, null]);
    // The SDK reads the values back with only the forbidden characters replaced.
    ec2.capture.respond = () => ({ status: 200, headers: { 'content-type': 'text/xml;charset=UTF-8' }, body: docs[0]! });
    const got = (await ec2.send(new ec2sdk.DescribeImagesCommand({}))) as ec2sdk.DescribeImagesResult;
    const clean = forbidden.map(() => '\uFFFD').join('x') + '<&>"\'\r 😀';
    expect(got.Images![0]).toMatchObject({ Description: clean, Name: clean, Tags: [{ Key: clean, Value: clean }] });
  });
});
