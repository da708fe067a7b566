// The command runner's limits: a timeout that kills the whole process group, the head of long
// output, how a command ended.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CommandError, exec } from './exec.js';

/** Processes whose command line is exactly argv. */
function processes(argv: string[]): string[] {
  const want = argv.join('\0') + '\0';
  return readdirSync('/proc').filter((p) => {
    if (!/^\d+$/.test(p)) return false;
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8') === want;
    } catch {
      return false;
    }
  });
}

describe('exec', () => {
  it('kills the command and its children at the timeout', async () => {
    const marker = String(20 + Math.floor(Math.random() * 1000) / 1000);
    const e = await exec('sh', ['-c', `sleep ${marker} & sleep ${marker}; echo done`], { timeoutMs: 200 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CommandError);
    expect(e).toMatchObject({ timedOut: true, code: null, signal: 'SIGKILL', stdout: '' });
    expect((e as Error).message).toMatch(/failed \(timed out after 200 ms\)/);
    await expect.poll(() => processes(['sleep', marker])).toEqual([]);
  });

  it('keeps the head of long output', async () => {
    const r = await exec('sh', ['-c', 'yes abc | head -c 40000; yes def | head -c 40000 >&2'], { maxOutputBytes: 8 });
    expect(r.stdout).toBe('abc\nabc\n\n[… 39992 more bytes not kept]\n');
    expect(r.stderr).toBe('def\ndef\n\n[… 39992 more bytes not kept]\n');
    expect((await exec('echo', ['short'], { maxOutputBytes: 8 })).stdout).toBe('short\n');
  });

  it('says how a command ended: its code, or the signal that killed it', async () => {
    await expect(exec('sh', ['-c', 'echo out; echo err >&2; exit 3'])).rejects.toMatchObject({ code: 3, signal: null, timedOut: false, stdout: 'out\n', stderr: 'err\n' });
    const killed = await exec('sh', ['-c', 'kill -SEGV $$']).catch((x: unknown) => x);
    expect(killed).toMatchObject({ code: null, signal: 'SIGSEGV', timedOut: false });
    expect((killed as Error).message).toMatch(/failed \(killed by SIGSEGV\)/);
    expect((await exec('sh', ['-c', 'exit 4'], { okCodes: [0, 4] })).code).toBe(4);
  });
});
