import { afterEach, beforeEach, expect, it } from 'vitest';
import { BuildCommandError, run } from './exec.js';

let old: number;
beforeEach(() => {
  old = process.umask(0o077); // the server's (src/state-folder.ts)
});
afterEach(() => {
  process.umask(old);
});

it('runs the image tools with umask 0022: what they make is for the guest', async () => {
  expect((await run('sh', ['-c', 'umask'])).trim()).toBe('0022');
  expect(await run('printf', ['%s|', 'a b', '$HOME', '"q"'])).toBe('a b|$HOME|"q"|');
});

it('names the tool, not the shell, when it fails', async () => {
  const e = await run('false', ['--flag']).catch((x: unknown) => x);
  expect(e).toBeInstanceOf(BuildCommandError);
  expect((e as Error).message).toMatch(/^false --flag failed \(exit 1\)/);
});
