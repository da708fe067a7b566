// Raw requests (signed with the signer the SDKs use, or not at all) against a real server: how
// authentication fails, and the transport's limits, in EC2's own error envelope.
import { describe, expect, test } from 'vitest';
import { EC2_ENVELOPE, encodePairs, s, send, useFuzzServer } from './fuzz-harness.js';

useFuzzServer({ aim: false });

describe('authentication on raw requests', () => {
  const body = () =>
    Buffer.from(
      encodePairs([
        ['Action', 'DescribeRegions'],
        ['Version', '2016-11-15'],
      ]),
    );
  const codeOf = (text: string) => /<Code>([^<]+)<\/Code>/.exec(text)?.[1];

  test('a correctly signed request passes (the baseline for the cases below)', async () => {
    const r = await send({ body: body() });
    expect(r.status).toBe(200);
    expect(r.text).toContain('<DescribeRegionsResponse');
  });

  test('unsigned → MissingAuthenticationToken', async () => {
    const r = await send({ body: body(), sign: 'none' });
    expect([r.status, codeOf(r.text)]).toEqual([401, 'MissingAuthenticationToken']);
  });

  test('wrong secret, tampered body → SignatureDoesNotMatch; unknown key → AuthFailure', async () => {
    const wrong = await send({ body: body(), creds: { accessKeyId: s.admin.accessKeyId, secretAccessKey: 'not-the-secret' } });
    expect([wrong.status, codeOf(wrong.text)]).toEqual([403, 'SignatureDoesNotMatch']);
    const tampered = await send({ body: body(), tamper: true });
    expect([tampered.status, codeOf(tampered.text)]).toEqual([403, 'SignatureDoesNotMatch']);
    const unknown = await send({ body: body(), creds: { accessKeyId: 'AKIAUNKNOWNUNKNOWN00', secretAccessKey: 'x' } });
    expect([unknown.status, codeOf(unknown.text)]).toEqual([401, 'AuthFailure']);
  });

  test('signed 20 minutes ago or 20 minutes ahead → RequestExpired', async () => {
    for (const skew of [-20, 20]) {
      const r = await send({ body: body(), signingDate: new Date(Date.now() + skew * 60_000) });
      expect([r.status, codeOf(r.text)]).toEqual([400, 'RequestExpired']);
    }
  });

  test('a malformed Authorization header → IncompleteSignature; an unknown region → AuthFailure', async () => {
    const r = await send({ body: body(), sign: 'none', headers: { authorization: 'AWS4-HMAC-SHA256 Credential=x', 'x-amz-date': '20240101T000000Z' } });
    expect([r.status, codeOf(r.text)]).toEqual([400, 'IncompleteSignature']);
    const region = await send({ body: body(), region: 'mars-north-1' });
    expect([region.status, codeOf(region.text)]).toEqual([401, 'AuthFailure']);
  });
});

describe('transport limits answer in the EC2 envelope', () => {
  const codeOf = (text: string) => EC2_ENVELOPE.exec(text)?.[1];

  test('a body over the limit → 413 InvalidRequest', async () => {
    const big = Buffer.from(
      encodePairs([
        ['Action', 'DescribeRegions'],
        ['Version', '2016-11-15'],
        ['Description', 'x'.repeat(1024 * 1024)],
      ]),
    );
    const r = await send({ body: big });
    expect([r.status, codeOf(r.text)]).toEqual([413, 'InvalidRequest']);
  });

  test('a request line over the HTTP parser’s limit → 431 InvalidRequest (not Node’s bare 431)', async () => {
    const r = await send({
      method: 'GET',
      query: encodePairs([
        ['Action', 'DescribeRegions'],
        ['Version', '2016-11-15'],
        ['RegionName.1', 'x'.repeat(40_000)],
      ]),
    });
    expect([r.status, codeOf(r.text)]).toEqual([431, 'InvalidRequest']);
    expect(r.headers['x-amzn-requestid']).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('a successful answer says how long the server took (Server-Timing)', async () => {
    const r = await send({
      body: Buffer.from(
        encodePairs([
          ['Action', 'DescribeRegions'],
          ['Version', '2016-11-15'],
        ]),
      ),
    });
    expect(r.status).toBe(200);
    expect(String(r.headers['server-timing'])).toMatch(/^app;dur=\d+(\.\d+)?$/);
  });
});
