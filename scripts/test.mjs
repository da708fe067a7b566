// `npm test`: make the clone ready (packages, dependencies, build), type-check sources, tests,
// benches and scripts (tsconfig.json), then run every test. A type error fails before any suite runs.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureAll } from './ensure.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
ensureAll({ forTests: true });

const started = Date.now();
const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json', '--noEmit'], {
  stdio: 'inherit',
  cwd: root,
});
if (tsc.status !== 0) {
  process.stderr.write(`cumulo test: type check failed (tsc -p tsconfig.json --noEmit); no suite was run\n`);
  process.exit(tsc.status ?? 1);
}
process.stderr.write(`cumulo test: type check ok in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);

const r = spawnSync(process.execPath, [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...process.argv.slice(2)], {
  stdio: 'inherit',
  cwd: root,
  env: { ...process.env, AWS_SDK_JS_SUPPRESS_NODE_DEPRECATION_WARNING: '1' },
});
process.exit(r.status ?? 1);
