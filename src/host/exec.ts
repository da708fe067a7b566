// Running the host's tools (ip, nft, losetup, mkfs, runc, debootstrap…): argument arrays, never a
// shell; a failure names the command, its exit code and what it printed.
import { spawn } from 'node:child_process';

export class CommandError extends Error {
  /** The signal that ended the command, when one did (code is then null). */
  readonly signal: NodeJS.Signals | null;
  /** Killed (with its whole process group) because it ran past ExecOptions.timeoutMs. */
  readonly timedOut: boolean;
  /** What it printed on stdout, when it was collected (not for streamed output). */
  readonly stdout: string;

  constructor(
    readonly command: string,
    readonly code: number | null,
    /** What the command printed on stderr (or its output's tail, for streamed builds). */
    readonly stderr: string,
    more: { signal?: NodeJS.Signals | null; timedOut?: boolean; timeoutMs?: number; stdout?: string } = {},
  ) {
    const how = more.timedOut ? `timed out after ${more.timeoutMs} ms` : more.signal ? `killed by ${more.signal}` : `exit ${code}`;
    super(`${command} failed (${how}): ${stderr.trim().split('\n').slice(-15).join('\n') || 'no output'}`);
    this.signal = more.signal ?? null;
    this.timedOut = more.timedOut ?? false;
    this.stdout = more.stdout ?? '';
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
  /**
   * Kill the command after this long: it runs in a process group of its own, and the whole group
   * gets SIGKILL (a grandchild cannot outlive it); the promise rejects with timedOut set.
   */
  timeoutMs?: number;
  /** Keep only the first this many bytes of stdout and of stderr (a hostile program can print without end). */
  maxOutputBytes?: number;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number;
}

const TAIL = 1 << 20;

/** The first `max` bytes of a stream, and how many more there were. */
class Head {
  private parts: Buffer[] = [];
  private kept = 0;
  private dropped = 0;
  constructor(private readonly max = Infinity) {}
  push(b: Buffer): void {
    const room = this.max - this.kept;
    if (room >= b.length) {
      this.parts.push(b);
      this.kept += b.length;
      return;
    }
    if (room > 0) this.parts.push(b.subarray(0, room));
    this.kept += Math.max(room, 0);
    this.dropped += b.length - Math.max(room, 0);
  }
  toString(): string {
    const s = Buffer.concat(this.parts).toString();
    return this.dropped ? `${s}\n[… ${this.dropped} more bytes not kept]\n` : s;
  }
}

export function exec(cmd: string, args: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const okCodes = opts.okCodes ?? [0];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
      // Its own process group, so that a timeout kills all of it.
      detached: opts.timeoutMs !== undefined,
    });
    const out = new Head(opts.maxOutputBytes);
    const err = new Head(opts.maxOutputBytes);
    let timedOut = false;
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            try {
              process.kill(-child.pid!, 'SIGKILL');
            } catch {
              child.kill('SIGKILL'); // the group is gone already
            }
          }, opts.timeoutMs);
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
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (opts.onLine && partial) opts.onLine(partial);
      const stdout = opts.onLine ? tail.join('') : out.toString();
      const stderr = opts.onLine ? '' : err.toString();
      if (!timedOut && code !== null && okCodes.includes(code)) resolve({ stdout, stderr, code });
      else
        reject(new CommandError([cmd, ...args].join(' '), code, opts.onLine ? stdout : stderr, { signal, timedOut, timeoutMs: opts.timeoutMs, stdout: opts.onLine ? '' : stdout }));
    });
    child.stdin.on('error', () => undefined); // a tool that exits early closes its stdin
    child.stdin.end(opts.input ?? '');
  });
}

/** The command's stdout; rejects with CommandError unless it exits 0. */
export async function run(cmd: string, args: string[], input?: string): Promise<string> {
  return (await exec(cmd, args, { input })).stdout;
}
