// Running the host's storage tools (losetup, mount, mkfs, e2fsck, resize2fs): argument arrays,
// never a shell; a failure names the command, its exit code and its stderr.
import { execFile } from 'node:child_process';

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly code: number | string | null,
    readonly stderr: string,
  ) {
    super(`${command} failed (exit ${code}): ${stderr.trim() || 'no output'}`);
  }
}

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Run cmd with args; exit codes outside okCodes (default [0]) reject with a CommandError. */
export function run(cmd: string, args: string[], opts: { okCodes?: number[] } = {}): Promise<RunResult> {
  const okCodes = opts.okCodes ?? [0];
  return new Promise((resolve, reject) => {
    // LC_ALL=C: messages we match on (resize2fs asking for e2fsck) stay in English.
    execFile(cmd, args, { env: { ...process.env, LC_ALL: 'C' }, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (err as NodeJS.ErrnoException & { code?: number | string }).code ?? null : 0;
      if (typeof code === 'number' && okCodes.includes(code)) return resolve({ stdout, stderr, code });
      if (code === 0) return resolve({ stdout, stderr, code: 0 });
      reject(new CommandError([cmd, ...args].join(' '), code, stderr || (err?.message ?? '')));
    });
  });
}
