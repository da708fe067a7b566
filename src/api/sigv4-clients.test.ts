// SigV4 verification against what others sign: the published AWS test-suite vectors, the AWS SDK
// for JavaScript v3 and botocore (AWS CLI v1, boto3).
import { spawnSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { DescribeRegionsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { HttpRequest, HttpResponse } from '@smithy/protocol-http';
import { beforeAll, describe, expect, test } from 'vitest';
import { probe, requires } from '../../test/requires.js';
import { type IncomingRequest, parseAuthorization, verifySigV4 } from './sigv4.js';
import { AKID, Bag, SECRET, lookup, rejection, toIncoming } from '../../test/sigv4-requests.js';

/** A request handler for the v3 SDK clients that keeps the signed request and answers with a canned 200. */
function capturingHandler(xml: string) {
  const captured: HttpRequest[] = [];
  return {
    captured,
    handler: {
      async handle(request: HttpRequest) {
        captured.push(request);
        return {
          response: new HttpResponse({
            statusCode: 200,
            headers: { 'content-type': 'text/xml;charset=UTF-8' },
            body: Readable.from([Buffer.from(xml)]),
          }),
        };
      },
      updateHttpClientConfig() {},
      httpHandlerConfigs() {
        return {};
      },
      destroy() {},
    },
  };
}

const DESCRIBE_REGIONS_XML = '<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>x</requestId><regionInfo/></DescribeRegionsResponse>';
const GET_CALLER_IDENTITY_XML =
  '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>' +
  '<Arn>arn:aws:iam::123456789012:user/test</Arn><UserId>AIDATEST</UserId><Account>123456789012</Account>' +
  '</GetCallerIdentityResult><ResponseMetadata><RequestId>x</RequestId></ResponseMetadata></GetCallerIdentityResponse>';

describe('published AWS test-suite vectors (independent of the signer)', () => {
  test('get-vanilla (2015 suite, x-amz-date)', async () => {
    const req: IncomingRequest = {
      method: 'GET',
      path: '/',
      query: '',
      headers: {
        host: 'example.amazonaws.com',
        'x-amz-date': '20150830T123600Z',
        authorization:
          'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
      },
      body: Buffer.alloc(0),
    };
    const now = new Date('2015-08-30T12:36:00Z');
    await expect(verifySigV4(req, lookup, now)).resolves.toEqual({ accessKeyId: 'AKIDEXAMPLE', region: 'us-east-1', service: 'service', signedAt: now });
  });

  test('get-vanilla-query-order-key-case (2015 suite)', async () => {
    const req: IncomingRequest = {
      method: 'GET',
      path: '/',
      query: 'Param2=value2&Param1=value1',
      headers: {
        host: 'example.amazonaws.com',
        'x-amz-date': '20150830T123600Z',
        authorization:
          'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500',
      },
      body: Buffer.alloc(0),
    };
    await expect(verifySigV4(req, lookup, new Date('2015-08-30T12:36:00Z'))).resolves.toMatchObject({ accessKeyId: 'AKIDEXAMPLE' });
  });

  test('get-vanilla (2011 suite, signed with the Date header instead of x-amz-date)', async () => {
    const req: IncomingRequest = {
      method: 'GET',
      path: '/foo/bar/../..', // get-relative-relative: same signature as get-vanilla
      query: '',
      headers: {
        host: 'host.foo.com',
        date: 'Mon, 09 Sep 2011 23:36:00 GMT',
        authorization:
          'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20110909/us-east-1/host/aws4_request, SignedHeaders=date;host, Signature=b27ccfbfa7df52a200ff74193ca6e32d4b48b8856fab7ebf1c595d0670a7e470',
      },
      body: Buffer.alloc(0),
    };
    const now = new Date('2011-09-09T23:40:00Z');
    await expect(verifySigV4(req, lookup, now)).resolves.toEqual({
      accessKeyId: 'AKIDEXAMPLE',
      region: 'us-east-1',
      service: 'host',
      signedAt: new Date('2011-09-09T23:36:00Z'),
    });
    const moved = { ...req, headers: { ...req.headers, date: 'Mon, 09 Sep 2011 23:37:00 GMT' } };
    expect((await rejection(verifySigV4(moved, lookup, now))).code).toBe('SignatureDoesNotMatch');
  });
});

describe('real clients: AWS SDK for JavaScript v3', () => {
  function toIncomingFromSdk(r: HttpRequest): IncomingRequest {
    return toIncoming({ method: r.method, path: r.path, query: r.query as Bag, headers: r.headers, body: r.body });
  }

  test('EC2Client DescribeRegions (with awkward parameter values)', async () => {
    const { handler, captured } = capturingHandler(DESCRIBE_REGIONS_XML);
    const client = new EC2Client({
      region: 'eu-central-1',
      endpoint: 'http://localhost:4566',
      credentials: { accessKeyId: AKID, secretAccessKey: SECRET },
      requestHandler: handler,
    });
    const out = await client.send(new DescribeRegionsCommand({ RegionNames: ['a b/c+d=e', 'ünïcode ✓'], AllRegions: true }));
    expect(out.Regions).toEqual([]);
    expect(captured).toHaveLength(1);
    const req = toIncomingFromSdk(captured[0]);
    const parsed = parseAuthorization(req);
    expect(parsed.signedHeaders).toEqual(expect.arrayContaining(['content-type', 'host', 'x-amz-date']));
    await expect(verifySigV4(req, lookup)).resolves.toMatchObject({ accessKeyId: AKID, region: 'eu-central-1', service: 'ec2' });

    const tampered = { ...req, body: Buffer.from(req.body.toString().replace('AllRegions=true', 'AllRegions=false')) };
    expect(tampered.body.equals(req.body)).toBe(false);
    expect((await rejection(verifySigV4(tampered, lookup))).code).toBe('SignatureDoesNotMatch');
    client.destroy();
  });

  test('EC2Client with a session token', async () => {
    const { handler, captured } = capturingHandler(DESCRIBE_REGIONS_XML);
    const client = new EC2Client({
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:8773/',
      credentials: { accessKeyId: AKID, secretAccessKey: SECRET, sessionToken: 'session/token+value==' },
      requestHandler: handler,
    });
    await client.send(new DescribeRegionsCommand({}));
    const req = toIncomingFromSdk(captured[0]);
    expect(req.headers['x-amz-security-token']).toBe('session/token+value==');
    await expect(verifySigV4(req, lookup)).resolves.toMatchObject({ accessKeyId: AKID });
    client.destroy();
  });

  test('STSClient GetCallerIdentity', async () => {
    const { handler, captured } = capturingHandler(GET_CALLER_IDENTITY_XML);
    const client = new STSClient({
      region: 'us-west-2',
      endpoint: 'http://localhost:4566',
      credentials: { accessKeyId: AKID, secretAccessKey: SECRET },
      requestHandler: handler,
    });
    const out = await client.send(new GetCallerIdentityCommand({}));
    expect(out.Account).toBe('123456789012');
    const req = toIncomingFromSdk(captured[0]);
    await expect(verifySigV4(req, lookup)).resolves.toMatchObject({ accessKeyId: AKID, region: 'us-west-2', service: 'sts' });
    expect((await rejection(verifySigV4(req, (id) => (id === AKID ? 'wrong' : undefined)))).code).toBe('SignatureDoesNotMatch');
    client.destroy();
  });
});

// ---------------------------------------------------------------------------------------------
// botocore (what the AWS CLI v1 and boto3 sign with), when it is installed.

const botocore = requires({ other: { 'python3 with botocore (the AWS CLI v1)': probe('python3', ['-c', 'import botocore']) } });
const hasBotocore = botocore.ok;

const BOTOCORE_SCRIPT = String.raw`
import json, sys
import botocore.session, botocore.auth, botocore.awsrequest, botocore.credentials

akid, secret = sys.argv[1], sys.argv[2]
results = {}

class Captured(Exception):
    pass

def text(v):
    return v.decode() if isinstance(v, bytes) else v

def capture_into(name):
    def handler(request, **kw):
        results[name] = {'method': request.method, 'url': request.url,
                         'headers': {k: text(v) for k, v in request.headers.items()},
                         'body': text(request.body) or ''}
        raise Captured()
    return handler

session = botocore.session.get_session()
def client(service, region, name, token=None):
    c = session.create_client(service, region_name=region, endpoint_url='http://localhost:4566',
                              aws_access_key_id=akid, aws_secret_access_key=secret, aws_session_token=token)
    c.meta.events.register('before-send', capture_into(name))
    return c

try:
    client('ec2', 'eu-west-3', 'ec2').describe_regions(RegionNames=['a b/c+d=e', 'ünïcode ✓'], AllRegions=True)
except Captured:
    pass
try:
    client('ec2', 'us-east-1', 'ec2_token', token='botocore/session+token==').describe_instances(
        Filters=[{'Name': 'tag:Name', 'Values': ['x y']}])
except Captured:
    pass
try:
    client('sts', 'us-east-1', 'sts').get_caller_identity()
except Captured:
    pass

presigner = session.create_client('ec2', region_name='us-east-1', endpoint_url='http://localhost:4566',
                                  aws_access_key_id=akid, aws_secret_access_key=secret)
results['presigned'] = {'method': 'GET', 'url': presigner.generate_presigned_url(
    'describe_regions', Params={'RegionNames': ['x y+z/ü']}, ExpiresIn=300, HttpMethod='GET'), 'headers': {}, 'body': ''}
# Without HttpMethod botocore signs the URL as a POST (boto/boto3#756): it is valid only when sent as POST.
results['presigned_post'] = {'method': 'POST', 'url': presigner.generate_presigned_url(
    'describe_regions', Params={}, ExpiresIn=300), 'headers': {}, 'body': ''}

# A request carrying a Date header: botocore then signs with Date and sends no X-Amz-Date.
req = botocore.awsrequest.AWSRequest(method='POST', url='http://localhost:4566/',
    data='Action=DescribeRegions&Version=2016-11-15',
    headers={'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8', 'Date': 'Thu, 01 Jan 1970 00:00:00 GMT'})
botocore.auth.SigV4Auth(botocore.credentials.Credentials(akid, secret), 'ec2', 'us-east-1').add_auth(req)
results['date_header'] = {'method': req.method, 'url': req.url, 'headers': {k: text(v) for k, v in req.headers.items()},
                          'body': text(req.body)}

print(json.dumps(results))
`;

type BotoRequest = { method: string; url: string; headers: Record<string, string>; body: string };

function fromBotocore(r: BotoRequest): IncomingRequest {
  const url = new URL(r.url);
  const headers: Record<string, string> = { host: url.host }; // added by the HTTP layer when sent
  for (const [k, v] of Object.entries(r.headers)) headers[k.toLowerCase()] = v;
  return { method: r.method, path: url.pathname, query: url.search.replace(/^\?/, ''), headers, body: Buffer.from(r.body, 'utf8') };
}

describe('real clients: botocore (AWS CLI v1, boto3)', () => {
  let boto: Record<string, BotoRequest> = {};
  beforeAll(() => {
    if (!hasBotocore) return;
    const run = spawnSync('python3', ['-c', BOTOCORE_SCRIPT, AKID, SECRET], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`botocore script failed: ${run.stderr}`);
    boto = JSON.parse(run.stdout);
  });

  botocore.test('EC2 DescribeRegions (form body, content-type;host;x-amz-date)', async () => {
    const req = fromBotocore(boto.ec2);
    expect(parseAuthorization(req).signedHeaders).toEqual(['content-type', 'host', 'x-amz-date']);
    await expect(verifySigV4(req, lookup)).resolves.toMatchObject({ accessKeyId: AKID, region: 'eu-west-3', service: 'ec2' });
    const tampered = { ...req, body: Buffer.from(req.body.toString().replace('AllRegions=true', 'AllRegions=false')) };
    expect((await rejection(verifySigV4(tampered, lookup))).code).toBe('SignatureDoesNotMatch');
  });

  botocore.test('EC2 with a session token', async () => {
    const req = fromBotocore(boto.ec2_token);
    expect(parseAuthorization(req).signedHeaders).toContain('x-amz-security-token');
    await expect(verifySigV4(req, lookup)).resolves.toMatchObject({ accessKeyId: AKID });
  });

  botocore.test('STS GetCallerIdentity', async () => {
    await expect(verifySigV4(fromBotocore(boto.sts), lookup)).resolves.toMatchObject({ service: 'sts', region: 'us-east-1' });
  });

  botocore.test('presigned EC2 GET (generate_presigned_url)', async () => {
    const req = fromBotocore(boto.presigned);
    expect(parseAuthorization(req)).toMatchObject({ presigned: true, expiresSeconds: 300 });
    await expect(verifySigV4(req, lookup)).resolves.toMatchObject({ accessKeyId: AKID, service: 'ec2' });
    const signedAt = parseAuthorization(req).date.getTime();
    expect((await rejection(verifySigV4(req, lookup, new Date(signedAt + 301_000)))).code).toBe('RequestExpired');
  });

  botocore.test('presigned URL signed as POST (no HttpMethod): valid as POST only, as on AWS', async () => {
    const req = fromBotocore(boto.presigned_post);
    await expect(verifySigV4(req, lookup)).resolves.toMatchObject({ accessKeyId: AKID });
    expect((await rejection(verifySigV4({ ...req, method: 'GET' }, lookup))).code).toBe('SignatureDoesNotMatch');
  });

  botocore.test('signed with the Date header (no X-Amz-Date)', async () => {
    const req = fromBotocore(boto.date_header);
    expect(req.headers['x-amz-date']).toBeUndefined();
    expect(parseAuthorization(req).signedHeaders).toEqual(['content-type', 'date', 'host']);
    await expect(verifySigV4(req, lookup)).resolves.toMatchObject({ accessKeyId: AKID });
  });
});
