// The storage tools (losetup, mount, mkfs, e2fsck, resize2fs) through the host's command runner,
// with LC_ALL=C: messages we match on (resize2fs asking for e2fsck) stay in English.
import { exec, type ExecResult } from '../exec.js';

export { CommandError } from '../exec.js';
export type RunResult = ExecResult;

/** Run cmd with args; exit codes outside okCodes (default [0]) reject with a CommandError. */
export function run(cmd: string, args: string[], opts: { okCodes?: number[] } = {}): Promise<RunResult> {
  return exec(cmd, args, { okCodes: opts.okCodes, env: { ...process.env, LC_ALL: 'C' } });
}
