// `npm test`: make the clone ready (packages, dependencies, build), then run every test.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureAll } from './ensure.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
ensureAll({ forTests: true });
const r = spawnSync(process.execPath, [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...process.argv.slice(2)], {
  stdio: 'inherit',
  cwd: root,
  env: { ...process.env, AWS_SDK_JS_SUPPRESS_NODE_DEPRECATION_WARNING: '1' },
});
process.exit(r.status ?? 1);
