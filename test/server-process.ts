// A cumulo server in a process of its own (`cumulo start` on a state folder, the runc driver), so
// that a system test can SIGKILL it in the middle of its work and start another on the same
// CUMULO_HOME, as an operator's restart would.
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hostTag } from '../src/host/tag.js';
import { freePort } from './harness.js';
import { publicPoolFor, sleep } from './runc-harness.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface ServerProcess {
  proc: ChildProcess;
  url: string;
  /** What it printed so far (stdout and stderr). */
  output(): string;
  /** Send the signal and wait for the process to end. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** The environment startRuncServer gives a server on `home` (the same public pool), for a process. */
export function runcServerEnv(home: string): Record<string, string> {
  return {
    CUMULO_HOME: home,
    CUMULO_DRIVER: 'runc',
    CUMULO_PUBLIC_IPV4_POOL: publicPoolFor(parseInt(hostTag(home), 16) % 100),
    CUMULO_CPU_OVERCOMMIT: '64',
  };
}

/** Every server process started here and not ended: a suite's afterAll kills what is left. */
const started = new Set<ServerProcess>();

export async function spawnServer(home: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  const port = await freePort();
  // One process, not the tsx wrapper: the wrapper runs the server as its child, which a SIGKILL of
  // the wrapper would leave running (still writing to the store).
  const proc = spawn(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), 'start'], {
    env: { ...process.env, ...runcServerEnv(home), ...env, CUMULO_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  proc.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const server: ServerProcess = {
    proc,
    url: `http://127.0.0.1:${port}`,
    output: () => log,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      started.delete(server);
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const ended = new Promise((r) => proc.once('exit', r));
      proc.kill(signal);
      await ended;
    },
  };
  started.add(server);
  let exited: string | undefined;
  proc.once('exit', (code, signal) => (exited = `server exited (${code ?? signal}): ${log}`));
  for (const end = Date.now() + 120_000; !log.includes('serving the EC2 API on'); await sleep(50)) {
    if (exited) throw new Error(exited);
    if (Date.now() > end) throw new Error(`the server did not serve within 120 s: ${log}`);
  }
  return server;
}

/** SIGKILL every server process still running (a suite's afterAll). */
export async function killServers(): Promise<void> {
  await Promise.all([...started].map((s) => s.kill('SIGKILL')));
}
