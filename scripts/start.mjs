// `npm start`: install what is missing, build, and serve.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureAll, serverNodeFlags } from './ensure.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
ensureAll();
const child = spawn(process.execPath, [...serverNodeFlags, join(root, 'dist', 'cli', 'main.js'), 'start', ...process.argv.slice(2)], { stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
