// The network tools in batches: `ip -batch` and `nft -f`, through the host's one command runner.
import { run } from '../exec.js';

export { CommandError, run } from '../exec.js';

/** `ip -batch -`, in a network namespace when netns is given; -force runs every line even after a failure. */
export function ipBatch(lines: string[], opts: { netns?: string; force?: boolean } = {}): Promise<string> {
  const args = [...(opts.netns ? ['-n', opts.netns] : []), ...(opts.force ? ['-force'] : []), '-batch', '-'];
  return run('ip', args, lines.join('\n') + '\n');
}

/** `nft -f -`: the whole script is one atomic transaction. */
export function nft(script: string): Promise<string> {
  return run('nft', ['-f', '-'], script);
}
