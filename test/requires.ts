// The one gate for tests that need root or a host tool. Where a requirement is missing, the suite
// is skipped with its reason in the name, on a developer's machine; under CI=true (.ci/run) it
// fails instead, naming what is missing, so that a CI machine without root or a tool cannot pass
// by running nothing.
//
//   const needs = requires({ root: true, commands: ['runc', 'nft'] });
//   needs.describe('the data plane (root)', () => { … });
//   needs.test('one test', () => { … });
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, test, type TestFunction } from 'vitest';

export const inCi = process.env.CI === 'true';
export const isRoot = process.getuid?.() === 0;

/** A command on PATH or in the sbin folders (root's tools are there even when PATH lacks them). */
export function hasCommand(cmd: string): boolean {
  return (process.env.PATH ?? '')
    .split(':')
    .concat(['/usr/sbin', '/sbin'])
    .some((dir) => dir && existsSync(`${dir}/${cmd}`));
}

/** Runs the probe (a command line) and says whether it exited 0: for tools that need more than a file (python3 -c 'import botocore'). */
export function probe(cmd: string, args: string[]): boolean {
  return spawnSync(cmd, args, { stdio: 'ignore', timeout: 20_000 }).status === 0;
}

export interface Requirements {
  root?: boolean;
  /** Commands that must exist. */
  commands?: string[];
  /** Anything else, by what it is called: { 'python3 with botocore': probe('python3', ['-c', 'import botocore']) }. */
  other?: Record<string, boolean>;
}

type SuiteFn = () => void;
type TestFn = TestFunction;

export interface Gate {
  /** True when every requirement is met. */
  ok: boolean;
  /** What is missing, said for a person ('' when nothing is). */
  missing: string;
  describe(name: string, fn: SuiteFn): void;
  /** describe.each(table)(name, fn): one suite per row. */
  describeEach<T>(table: readonly T[]): (name: string, fn: (row: T) => void) => void;
  test(name: string, fn: TestFn, timeout?: number): void;
  /** The same gate with more requirements. */
  and(more: Requirements): Gate;
}

function missingOf(r: Requirements): string[] {
  const out: string[] = [];
  if (r.root && !isRoot) out.push('root');
  for (const c of r.commands ?? []) if (!hasCommand(c)) out.push(`the command ${c}`);
  for (const [what, have] of Object.entries(r.other ?? {})) if (!have) out.push(what);
  return out;
}

function merge(a: Requirements, b: Requirements): Requirements {
  return { root: a.root || b.root, commands: [...(a.commands ?? []), ...(b.commands ?? [])], other: { ...a.other, ...b.other } };
}

export function requires(r: Requirements): Gate {
  const missing = missingOf(r).join(', ');
  const ok = missing === '';
  const failure = () => {
    throw new Error(`this test needs ${missing}, which this machine lacks (CI=true: a test that cannot run fails rather than passing as skipped)`);
  };
  const gate: Gate = {
    ok,
    missing,
    describe(name, fn) {
      if (ok) describe(name, fn);
      else if (inCi) describe(name, () => test(`needs ${missing}`, failure));
      else describe.skip(`${name} [skipped: needs ${missing}]`, fn);
    },
    describeEach(table) {
      return (name, fn) => {
        for (const row of table) gate.describe(name.replace('%s', String(row)), () => fn(row));
      };
    },
    test(name, fn, timeout) {
      if (ok) test(name, { timeout }, fn);
      else if (inCi) test(`${name} [needs ${missing}]`, failure);
      else test.skip(`${name} [skipped: needs ${missing}]`, fn);
    },
    and(more) {
      return requires(merge(r, more));
    },
  };
  return gate;
}
