// Hostile bytes: random bytes and the characters XML 1.0 forbids, in action names, parameter names
// and values. A request whose parameters hold a forbidden character is refused at parse time with
// InvalidParameterValue; every answer, whatever it says, is well-formed XML to a strict parser.
import { describe, expect, test } from 'vitest';
import { CONCURRENCY, enc, judge, SEED, send, table, targets, useFuzzServer } from './fuzz-harness.js';
import { awkwardString, generate, Rng, toQueryParams } from './model-gen.js';
import { expatProblems, forbiddenIn } from './xml-strict.js';

useFuzzServer();

const HOSTILE_REQUESTS = Number(process.env.FUZZ_HOSTILE_REQUESTS ?? 1000);

/** Bytes that, percent-encoded or raw in the body, reach the parser as hostile characters. */
function hostileBytes(rng: Rng): Buffer {
  const parts: Buffer[] = [];
  for (let n = rng.range(1, 6); n > 0; n--) {
    const r = rng.next();
    if (r < 0.35)
      parts.push(Buffer.from([rng.int(0x20)])); // a C0 control
    else if (r < 0.55)
      parts.push(Buffer.from(Array.from({ length: rng.range(1, 12) }, () => rng.int(256)))); // any bytes
    else if (r < 0.65) parts.push(Buffer.from(rng.pick(['\uFFFE', '\uFFFF', '\u007F', '\u0085', '\u2028', '<', '&', ']]>', '"', "'", '\r', '😀'])));
    else if (r < 0.72)
      parts.push(
        Buffer.from(
          rng.pick([
            [0xed, 0xa0, 0x80],
            [0xed, 0xbf, 0xbf],
            [0xef, 0xbf, 0xbe],
            [0xc0, 0x80],
            [0xf4, 0x90, 0x80, 0x80],
          ]),
        ),
      ); // surrogates, U+FFFE, overlong NUL, > U+10FFFF
    else parts.push(Buffer.from(rng.pick(['Filter', 'Name', 'Value', '1', 'x', 'Description', 'InstanceId', 'ami-0123456789abcdef0'])));
  }
  return Buffer.concat(parts);
}

/** Percent-encodes every byte (or, sometimes, leaves the bytes raw apart from the separators). */
function encodeBytes(b: Buffer, rng: Rng): Buffer {
  if (rng.chance(0.2)) return Buffer.from(b.map((x) => (x === 0x26 || x === 0x3d || x === 0x25 || x === 0x2b ? 0x5f : x)));
  return Buffer.from([...b].map((x) => '%' + x.toString(16).padStart(2, '0')).join(''));
}

describe('hostile bytes', () => {
  test(`${HOSTILE_REQUESTS} signed requests with random bytes in action names, parameter names and values: well-formed XML answers, forbidden characters refused`, async () => {
    const failures: string[] = [];
    const answers: Buffer[] = [];
    const codes = new Map<string, number>();
    let refused = 0;
    let next = 0;
    const one = async (i: number) => {
      const rng = new Rng(SEED + 31 + i * 104729);
      const target = rng.pick(targets);
      const { op, model } = target;
      const input = op.input ? generate(op.input, rng, { optional: 0.3, budget: 20, maxDepth: 3 }) : {};
      const pairs: [Buffer, Buffer][] = [['Action', op.name], ['Version', model.apiVersion], ...(op.input ? toQueryParams(op.input, input, model.protocol) : [])].map(([k, v]) => [
        Buffer.from(enc(k)),
        Buffer.from(enc(v)),
      ]);
      const where = rng.pick(['action', 'name', 'value', 'value', 'all'] as const);
      if (where === 'action' || where === 'all') pairs[0]![1] = Buffer.concat([rng.chance(0.5) ? Buffer.from(op.name) : Buffer.alloc(0), encodeBytes(hostileBytes(rng), rng)]);
      if (where === 'name' || where === 'all') pairs.push([encodeBytes(hostileBytes(rng), rng), Buffer.from(enc(awkwardString(rng)))]);
      if (where === 'value' || where === 'all') {
        const j = pairs.length > 2 && rng.chance(0.7) ? rng.range(2, pairs.length - 1) : -1;
        if (j >= 0) pairs[j]![1] = Buffer.concat([pairs[j]![1], encodeBytes(hostileBytes(rng), rng)]);
        else pairs.push([Buffer.from(rng.pick(['Description', 'DryRun', 'Filter.1.Name', 'InstanceId.1', 'Bogus'])), encodeBytes(hostileBytes(rng), rng)]);
      }
      const body = Buffer.concat(pairs.flatMap(([k, v], n) => [n ? Buffer.from('&') : Buffer.alloc(0), k, Buffer.from('='), v]));
      // What the server sees: the body read as UTF-8, then as a form, the last of a repeated key winning.
      const params = new Map(new URLSearchParams(body.toString('utf8')));
      const forbidden = [...params].some(([k, v]) => forbiddenIn(k) || forbiddenIn(v));
      let res: Awaited<ReturnType<typeof send>>;
      try {
        res = await send({ body, service: target.service });
      } catch (e) {
        failures.push(`#${i} ${op.name}: transport: ${(e as Error).message}`);
        return;
      }
      answers.push(res.bytes);
      const outcome = judge(target.service, params.get('Action'), res.status, res.text, res.bytes);
      codes.set(`${outcome.status} ${outcome.code}`, (codes.get(`${outcome.status} ${outcome.code}`) ?? 0) + 1);
      if (!outcome.ok)
        failures.push(`#${i} ${op.name} [${where}] → ${outcome.status} ${outcome.code}: ${outcome.why}\n    ${JSON.stringify(body.toString('latin1').slice(0, 300))}`);
      else if (forbidden) {
        refused++;
        if (outcome.status !== 400 || outcome.code !== 'InvalidParameterValue') {
          failures.push(`#${i} ${op.name} [${where}]: a forbidden character answered ${outcome.status} ${outcome.code}, not 400 InvalidParameterValue`);
        }
      }
    };
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < HOSTILE_REQUESTS) await one(next++);
      }),
    );
    console.log(`hostile bytes: ${HOSTILE_REQUESTS} requests, ${refused} carried a forbidden character\n${table([...codes], 'answers (status code):')}`);
    expect(failures.slice(0, 25), `${failures.length} bad answers`).toEqual([]);
    // The cases above must have happened, not just passed vacuously.
    expect(refused).toBeGreaterThan(HOSTILE_REQUESTS / 4);
    expect(answers).toHaveLength(HOSTILE_REQUESTS);
    // And the parser the AWS CLI uses agrees, answer by answer.
    const expat = await expatProblems(answers);
    const bad = expat.map((e, i) => (e ? `#${i}: ${e}: ${JSON.stringify(answers[i]!.toString('latin1').slice(0, 300))}` : null)).filter(Boolean);
    expect(bad.slice(0, 10), `${bad.length} answers expat refuses`).toEqual([]);
  });
});
