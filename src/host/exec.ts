// Running the host's tools (ip, nft, losetup, mkfs, runc, debootstrap…): argument arrays, never a
// shell; a failure names the command, its exit code and what it printed.
import { spawn } from 'node:child_process';

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly code: number | null,
    /** What the command printed on stderr (or its output's tail, for streamed builds). */
    readonly stderr: string,
  ) {
    super(`${command} failed (exit ${code}): ${stderr.trim().split('\n').slice(-15).join('\n') || 'no output'}`);
  }
}

export interface ExecOptions {
  /** Written to the command's stdin (which is closed either way). */
  input?: string;
  env?: NodeJS.ProcessEnv;
  /** Exit codes that count as success (default: 0). */
  okCodes?: number[];
  /** Each line of stdout and stderr as it comes; the error then carries the output's last MiB. */
  onLine?: (line: string) => void;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number;
}

const TAIL = 1 << 20;

export function exec(cmd: string, args: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const okCodes = opts.okCodes ?? [0];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    // Streamed output (image builds) is long: keep its last MiB for the error, in order of arrival.
    const tail: string[] = [];
    let tailSize = 0;
    let partial = '';
    const stream = (b: Buffer) => {
      const s = b.toString();
      tail.push(s);
      tailSize += s.length;
      while (tailSize > TAIL && tail.length > 1) tailSize -= tail.shift()!.length;
      const lines = (partial + s).split('\n');
      partial = lines.pop()!;
      for (const l of lines) opts.onLine!(l);
    };
    child.stdout.on('data', (b: Buffer) => (opts.onLine ? stream(b) : out.push(b)));
    child.stderr.on('data', (b: Buffer) => (opts.onLine ? stream(b) : err.push(b)));
    child.on('error', reject);
    child.on('close', (code) => {
      if (opts.onLine && partial) opts.onLine(partial);
      const stdout = opts.onLine ? tail.join('') : Buffer.concat(out).toString();
      const stderr = opts.onLine ? '' : Buffer.concat(err).toString();
      if (code !== null && okCodes.includes(code)) resolve({ stdout, stderr, code });
      else reject(new CommandError([cmd, ...args].join(' '), code, opts.onLine ? stdout : stderr));
    });
    child.stdin.on('error', () => undefined); // a tool that exits early closes its stdin
    child.stdin.end(opts.input ?? '');
  });
}

/** The command's stdout; rejects with CommandError unless it exits 0. */
export async function run(cmd: string, args: string[], input?: string): Promise<string> {
  return (await exec(cmd, args, { input })).stdout;
}
