import { existsSync, readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { coveragePath, renderCoverage } from '../scripts/coverage.js';

test('docs/coverage.md is up to date (else: npm run coverage)', () => {
  const fresh = renderCoverage();
  const stale = !existsSync(coveragePath) || readFileSync(coveragePath, 'utf8') !== fresh;
  expect(stale, 'docs/coverage.md is stale: run `npm run coverage` and commit the result').toBe(false);
});

test('every registered handler is an operation of its service model', () => {
  expect(renderCoverage()).not.toContain('## Handlers that match no model operation');
});
