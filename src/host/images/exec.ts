// The image builders' tools through the host's command runner: output streamed line by line (for
// progress), stdout and stderr interleaved, the tail of it in the error.
import { CommandError, exec } from '../exec.js';

export { CommandError as BuildCommandError } from '../exec.js';

export interface RunOptions {
  /** Each line of stdout and stderr, as it comes. */
  onLine?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  input?: string;
}

/**
 * What the tools make goes into images, for the guest: under the server's umask (0077, see
 * src/state-folder.ts) debootstrap, dpkg's maintainer scripts and useradd would leave files and
 * folders only root may read. They run with 0022, the umask Debian's own images are built with.
 */
const GUEST_UMASK = '0022';

/** The command's output (stdout and stderr as they came, its last MiB). */
export async function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<string> {
  try {
    const wrapped = ['-c', `umask ${GUEST_UMASK} && exec "$0" "$@"`, cmd, ...args];
    return (await exec('/bin/sh', wrapped, { env: opts.env, input: opts.input, onLine: opts.onLine ?? (() => undefined) })).stdout;
  } catch (e) {
    // Named as the tool, not as the shell that set its umask.
    if (e instanceof CommandError) throw new CommandError([cmd, ...args].join(' '), e.code, e.stderr);
    throw e;
  }
}
