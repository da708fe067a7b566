// The network tools in batches: `ip -batch` and `nft -f`, through the host's one command runner.
import { CommandError, exec, run } from '../exec.js';
import { failedLines } from './ip.js';

export { CommandError, run } from '../exec.js';

/** `ip -batch -`, in a network namespace when netns is given; -force runs every line even after a failure. */
export function ipBatch(lines: string[], opts: { netns?: string; force?: boolean } = {}): Promise<string> {
  const args = [...(opts.netns ? ['-n', opts.netns] : []), ...(opts.force ? ['-force'] : []), '-batch', '-'];
  return run('ip', args, lines.join('\n') + '\n');
}

/**
 * One `ip -force -batch` where some lines may fail (removals of what may be gone already): every
 * line runs; a failure of a line that must not fail is thrown (after the whole batch ran).
 */
export async function ipPlan(lines: string[], optional: boolean[], netns?: string): Promise<void> {
  if (!lines.length) return;
  const args = [...(netns ? ['-n', netns] : []), '-force', '-batch', '-'];
  const r = await exec('ip', args, { input: lines.join('\n') + '\n', okCodes: [0, 1] });
  if (r.code === 0) return;
  const failed = failedLines(r.stderr);
  // A failure ip did not number (it could not even start) counts as one of a line that must not fail.
  const fatal = failed.length ? failed.filter((n) => !optional[n - 1]) : [0];
  if (fatal.length) {
    const which = fatal.map((n) => (n ? lines[n - 1] : '(batch)')).join('; ');
    throw new CommandError(`ip ${args.join(' ')} [${which}]`, r.code, r.stderr);
  }
}

/** `ip -json -batch -` of show commands: one parsed output per line. */
export async function ipShow(commands: string[], netns?: string): Promise<string> {
  return run('ip', [...(netns ? ['-n', netns] : []), '-json', '-batch', '-'], commands.join('\n') + '\n');
}

/** `nft -f -` in the host namespace, or in a named one: the whole script is one atomic transaction. */
export function nft(script: string, netns?: string): Promise<string> {
  return netns ? run('ip', ['netns', 'exec', netns, 'nft', '-f', '-'], script) : run('nft', ['-f', '-'], script);
}
