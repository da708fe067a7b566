// The shape of every part's conformance suite: the same cases run against each implementation; a
// case an implementation cannot honour is skipped with its reason in the test's name.
import { afterAll, beforeAll, describe, test } from 'vitest';

export interface ConformanceCase<H> {
  name: string;
  run: (h: H) => Promise<void>;
  /** ms (real parts boot instances, make XFS files). */
  timeout?: number;
}

export interface Subject<H> {
  /** The implementation's name in its part's registry. */
  name: string;
  /** Made once for the suite (beforeAll), let go of after it. */
  make: () => Promise<H & { close?: () => Promise<void> }>;
  /** Cases it cannot honour, by case name, with the reason. */
  skips?: Record<string, string>;
}

export function conformance<H>(part: string, cases: ConformanceCase<H>[], subject: Subject<H>, wrap: (name: string, fn: () => void) => void = describe): void {
  const unknown = Object.keys(subject.skips ?? {}).filter((k) => !cases.some((c) => c.name === k));
  if (unknown.length) throw new Error(`${part} conformance: skips name no case: ${unknown.join(', ')}`);
  wrap(`${part} conformance: ${subject.name}`, () => {
    let h: (H & { close?: () => Promise<void> }) | undefined;
    beforeAll(async () => {
      h = await subject.make();
    }, 600_000);
    afterAll(async () => {
      await h?.close?.();
    }, 600_000);
    for (const c of cases) {
      const reason = subject.skips?.[c.name];
      if (reason) test.skip(`${c.name} — skipped for ${subject.name}: ${reason}`, () => undefined);
      else test(c.name, () => c.run(h!), c.timeout ?? 60_000);
    }
  });
}
