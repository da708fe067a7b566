// Running the image builders' tools: output streamed line by line (progress), the tail of it in the error.
import { spawn } from 'node:child_process';

export class BuildCommandError extends Error {
  constructor(
    readonly command: string,
    readonly code: number | null,
    readonly output: string,
  ) {
    super(`${command} failed (exit ${code}): ${output.trim().split('\n').slice(-15).join('\n') || 'no output'}`);
  }
}

export interface RunOptions {
  /** Each line of stdout and stderr, as it comes. */
  onLine?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  input?: string;
}

export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
    const out: string[] = [];
    let size = 0;
    let partial = '';
    const take = (b: Buffer) => {
      const s = b.toString();
      // Keep the last MiB for the error; a debootstrap log is longer than anyone reads.
      out.push(s);
      size += s.length;
      while (size > 1 << 20 && out.length > 1) size -= out.shift()!.length;
      if (!opts.onLine) return;
      const lines = (partial + s).split('\n');
      partial = lines.pop()!;
      for (const l of lines) opts.onLine(l);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', reject);
    child.on('close', (code) => {
      if (partial && opts.onLine) opts.onLine(partial);
      const text = out.join('');
      if (code === 0) resolve(text);
      else reject(new BuildCommandError([cmd, ...args].join(' '), code, text));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}
