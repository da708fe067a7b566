// `npm start`: install what is missing, build, and serve.
//
// The server lives and dies with this process: signals are passed on, and the server holds an IPC
// channel to it, so that it stops when this process is gone however it went (src/cli/main.ts).
// package.json runs this script with `exec`, so npm's SIGTERM reaches it rather than a shell.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureAll, serverNodeFlags } from './ensure.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
ensureAll();
const child = spawn(process.execPath, [...serverNodeFlags, join(root, 'dist', 'cli', 'main.js'), 'start', ...process.argv.slice(2)], {
  stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
});
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
// npm killed without passing a signal on (SIGKILL, or an npm that does not forward): this process
// is re-parented; stop the server rather than leave it serving.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) child.kill('SIGTERM');
}, 500).unref();
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
