// Encoded authorization messages: AWS's decoded shape built from a real evaluation, sealed per
// account, and DecodeAuthorizationMessage refusing garbage, altered messages and other accounts'.
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SecretBox } from '../../lib/secrets.js';
import { openStore, type Db } from '../../store/db.js';
import type { ApiError } from '../errors.js';
import { evaluate, parsePolicy, type AuthzRequest } from '../iam/policy/index.js';
import type { Principal } from '../iam/principal.js';
import {
  authorizationMessageOf,
  decodeAuthorizationMessage,
  decodeAuthorizationMessageText,
  encodeAuthorizationMessage,
  ENCODED_MESSAGE_MAX,
  type AuthorizationMessage,
} from './authorization-message.js';
import { ACCOUNT, ctxOf, newBox, OTHER, root } from './sts.fixture.js';

let db: Db;
let box: SecretBox;
beforeEach(async () => {
  db = await openStore({ file: ':memory:' });
  box = newBox();
});
afterEach(async () => {
  await db.destroy();
});

async function errorOf(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (e) {
    return e as ApiError;
  }
  throw new Error('expected an error');
}

const alice: Principal = {
  kind: 'user',
  accountId: ACCOUNT,
  arn: `arn:aws:iam::${ACCOUNT}:user/alice`,
  userId: 'AIDAEXAMPLEEXAMPLE01',
  accessKeyId: 'AKIAEXAMPLEEXAMPLE01',
  name: 'alice',
};
const session: Principal = {
  kind: 'assumed-role',
  accountId: ACCOUNT,
  arn: `arn:aws:sts::${ACCOUNT}:assumed-role/Developer/Ana`,
  userId: 'AROAEXAMPLEEXAMPLE01:Ana',
  accessKeyId: 'ASIAEXAMPLEEXAMPLE01',
  name: 'Developer',
};

const request: AuthzRequest = {
  action: 'ec2:RunInstances',
  resource: `arn:aws:ec2:us-east-1:${ACCOUNT}:instance/*`,
  context: { 'aws:Account': ACCOUNT, 'ec2:InstanceType': 't3.micro', 'aws:TagKeys': ['team', 'env'] },
};

describe('authorizationMessageOf', () => {
  it('an explicit deny: the deciding statement with its actions, resources and conditions, and the request context', () => {
    const policy = parsePolicy(
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Sid: 'AllowAll', Effect: 'Allow', Action: '*', Resource: '*' },
          {
            Sid: 'NoSmall',
            Effect: 'Deny',
            Action: ['ec2:RunInstances', 'ec2:StartInstances'],
            Resource: 'arn:aws:ec2:*:*:instance/*',
            Condition: { StringEquals: { 'ec2:InstanceType': 't3.micro' } },
          },
        ],
      }),
      'identity',
      'arn:aws:iam::aws:policy/Example',
    );
    const result = evaluate(request, { identity: [policy] });
    expect(result.decision).toBe('ExplicitDeny');
    const m = authorizationMessageOf(session, request, result, [policy]);
    expect(m).toEqual({
      allowed: false,
      explicitDeny: true,
      matchedStatements: {
        items: [
          {
            statementId: 'NoSmall',
            effect: 'DENY',
            principals: { items: [{ value: 'AROAEXAMPLEEXAMPLE01' }] },
            principalGroups: { items: [] },
            actions: { items: [{ value: 'ec2:RunInstances' }, { value: 'ec2:StartInstances' }] },
            resources: { items: [{ value: 'arn:aws:ec2:*:*:instance/*' }] },
            conditions: { items: [{ key: 'ec2:InstanceType', values: { items: [{ value: 't3.micro' }] } }] },
          },
        ],
      },
      failures: { items: [] },
      context: {
        principal: { id: 'AROAEXAMPLEEXAMPLE01:Ana', arn: `arn:aws:sts::${ACCOUNT}:assumed-role/Developer/Ana` },
        action: 'ec2:RunInstances',
        resource: `arn:aws:ec2:us-east-1:${ACCOUNT}:instance/*`,
        conditions: {
          items: [
            { key: 'aws:Account', values: { items: [{ value: ACCOUNT }] } },
            { key: 'ec2:InstanceType', values: { items: [{ value: 't3.micro' }] } },
            { key: 'aws:TagKeys', values: { items: [{ value: 'team' }, { value: 'env' }] } },
          ],
        },
      },
    });
  });

  it("no allow: nothing matched, and a user's name in the principal", () => {
    const policy = parsePolicy(JSON.stringify({ Statement: { Effect: 'Allow', Action: 'ec2:Describe*', Resource: '*' } }), 'identity', 'user/alice/inline/read');
    const result = evaluate(request, { identity: [policy] });
    const m = authorizationMessageOf(alice, request, result, [policy]);
    expect(m.allowed).toBe(false);
    expect(m.explicitDeny).toBe(false);
    expect(m.matchedStatements.items).toEqual([]);
    expect(m.context.principal).toEqual({ id: 'AIDAEXAMPLEEXAMPLE01', name: 'alice', arn: alice.arn });
  });
});

describe('encode and decode', () => {
  const message = (): AuthorizationMessage => authorizationMessageOf(alice, request, { decision: 'ImplicitDeny', matched: [], missing: 'identity' }, []);

  it("round-trips for the same account, URL-safe and within STS's limit", () => {
    const encoded = encodeAuthorizationMessage(box, message());
    expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(encoded.length).toBeLessThanOrEqual(ENCODED_MESSAGE_MAX);
    expect(decodeAuthorizationMessageText(box, ACCOUNT, encoded)).toEqual(message());
    // Sealed with a fresh nonce each time.
    expect(encodeAuthorizationMessage(box, message())).not.toBe(encoded);
  });

  it('another account, another master key, an altered byte and garbage are InvalidAuthorizationMessageException', () => {
    const encoded = encodeAuthorizationMessage(box, message());
    const invalid = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect((e as ApiError).code).toBe('InvalidAuthorizationMessageException');
        expect((e as ApiError).status).toBe(400);
        return;
      }
      throw new Error('expected InvalidAuthorizationMessageException');
    };
    invalid(() => decodeAuthorizationMessageText(box, OTHER, encoded));
    invalid(() => decodeAuthorizationMessageText(newBox(), ACCOUNT, encoded));
    const i = Math.floor(encoded.length / 2);
    invalid(() => decodeAuthorizationMessageText(box, ACCOUNT, encoded.slice(0, i) + (encoded[i] === 'A' ? 'B' : 'A') + encoded.slice(i + 1)));
    invalid(() => decodeAuthorizationMessageText(box, ACCOUNT, 'not-a-message'));
    invalid(() => decodeAuthorizationMessageText(box, ACCOUNT, 'a b'));
    invalid(() => decodeAuthorizationMessageText(box, ACCOUNT, ''));
    invalid(() => decodeAuthorizationMessageText(box, ACCOUNT, 'A'.repeat(ENCODED_MESSAGE_MAX + 1)));
  });

  it('a message too long for the limit sheds condition keys of the request until it fits, and still decodes', () => {
    const m = message();
    const items = Array.from({ length: 400 }, (_, i) => ({
      key: `ec2:ResourceTag/${randomBytes(16).toString('hex')}`,
      values: { items: [{ value: randomBytes(24).toString('hex') + String(i) }] },
    }));
    const big = { ...m, context: { ...m.context, conditions: { items } } };
    const encoded = encodeAuthorizationMessage(box, big);
    expect(encoded.length).toBeLessThanOrEqual(ENCODED_MESSAGE_MAX);
    const back = decodeAuthorizationMessageText(box, ACCOUNT, encoded);
    expect(back.context.conditions.items.length).toBeGreaterThan(0);
    expect(back.context.conditions.items.length).toBeLessThan(400);
    expect(back.context.conditions.items).toEqual(items.slice(0, back.context.conditions.items.length));
    expect({ ...back, context: { ...back.context, conditions: big.context.conditions } }).toEqual(big);
  });

  it('the message is sealed for the account in its principal ARN', () => {
    const theirs = { ...message(), context: { ...message().context, principal: { id: OTHER, arn: `arn:aws:iam::${OTHER}:root` } } };
    const encoded = encodeAuthorizationMessage(box, theirs);
    expect(decodeAuthorizationMessageText(box, OTHER, encoded).context.principal.arn).toBe(`arn:aws:iam::${OTHER}:root`);
    expect(() => decodeAuthorizationMessageText(box, ACCOUNT, encoded)).toThrow();
  });
});

describe('DecodeAuthorizationMessage', () => {
  it('answers the JSON text of the message to any principal of its account, and refuses another account', async () => {
    const m = authorizationMessageOf(alice, request, { decision: 'ImplicitDeny', matched: [], missing: 'identity' }, []);
    const encoded = encodeAuthorizationMessage(box, m);
    const out = await decodeAuthorizationMessage(ctxOf(db, box, root()), { EncodedMessage: encoded });
    expect(JSON.parse(out.DecodedMessage!)).toEqual(m);
    expect(out.DecodedMessage).toContain('"allowed":false,"explicitDeny":false,"matchedStatements":{"items":[]},"failures":{"items":[]},"context":{"principal":');
    const e = await errorOf(decodeAuthorizationMessage(ctxOf(db, box, root(OTHER)), { EncodedMessage: encoded }));
    expect(e.code).toBe('InvalidAuthorizationMessageException');
  });
});
