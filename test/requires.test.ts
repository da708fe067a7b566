// The gate of tests that need root or a host tool (test/requires.ts), run in a child vitest on a
// fixture: skipped with its reason on a developer's machine, a failure under CI=true.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const fixtures = join(root, 'test', 'fixtures', 'requires');

function vitest(ci: string | undefined): { status: number | null; out: string } {
  const env = { ...process.env };
  delete env.CI;
  delete env.VITEST;
  delete env.VITEST_WORKER_ID;
  delete env.VITEST_POOL_ID;
  if (ci !== undefined) env.CI = ci;
  env.NO_COLOR = '1';
  delete env.FORCE_COLOR;
  const r = spawnSync(
    process.execPath,
    [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--root', fixtures, '--config', join(fixtures, 'vitest.config.ts'), '--reporter', 'verbose'],
    { env, encoding: 'utf8', timeout: 120_000 },
  );
  return { status: r.status, out: r.stdout + r.stderr };
}

describe('requires()', () => {
  test('without CI: the suite and the test that lack a tool are skipped, saying why; the run passes', () => {
    const r = vitest(undefined);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toMatch(/a suite needing a tool \[skipped: needs the command cumulo-no-such-tool\]/);
    expect(r.out).toMatch(/a single test needing a tool \[skipped: needs the command cumulo-no-such-tool\]/);
    expect(r.out).toMatch(/1 passed \| 2 skipped/);
  });

  test('under CI=true: each becomes a failing test naming what is missing; the run fails', () => {
    const r = vitest('true');
    expect(r.status).toBe(1);
    expect(r.out).toContain('this test needs the command cumulo-no-such-tool, which this machine lacks');
    expect(r.out).toMatch(/2 failed \| 1 passed/);
  });
});
