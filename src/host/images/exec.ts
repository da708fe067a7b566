// The image builders' tools through the host's command runner: output streamed line by line (for
// progress), stdout and stderr interleaved, the tail of it in the error.
import { exec } from '../exec.js';

export { CommandError as BuildCommandError } from '../exec.js';

export interface RunOptions {
  /** Each line of stdout and stderr, as it comes. */
  onLine?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  input?: string;
}

/** The command's output (stdout and stderr as they came, its last MiB). */
export async function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<string> {
  return (await exec(cmd, args, { env: opts.env, input: opts.input, onLine: opts.onLine ?? (() => undefined) })).stdout;
}
