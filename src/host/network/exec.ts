// Running the host's network tools (ip, nft): one spawn per call, stdin for batches, stderr in the error.
import { spawn } from 'node:child_process';

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly code: number | null,
    readonly stderr: string,
  ) {
    super(`${command} failed (exit ${code}): ${stderr.trim() || 'no output'}`);
  }
}

export function run(cmd: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString());
      else reject(new CommandError([cmd, ...args].join(' '), code, Buffer.concat(err).toString()));
    });
    child.stdin.on('error', () => undefined); // a tool that exits early closes its stdin
    child.stdin.end(input ?? '');
  });
}

/** `ip -batch -`, in a network namespace when netns is given; -force runs every line even after a failure. */
export function ipBatch(lines: string[], opts: { netns?: string; force?: boolean } = {}): Promise<string> {
  const args = [...(opts.netns ? ['-n', opts.netns] : []), ...(opts.force ? ['-force'] : []), '-batch', '-'];
  return run('ip', args, lines.join('\n') + '\n');
}

/** `nft -f -`: the whole script is one atomic transaction. */
export function nft(script: string): Promise<string> {
  return run('nft', ['-f', '-'], script);
}
