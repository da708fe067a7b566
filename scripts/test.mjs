// `npm test`: make the clone ready (packages, dependencies, build), type-check sources, tests,
// benches and scripts (tsconfig.json), lint them (eslint.config.js: typescript-eslint and the layer
// boundaries), check their formatting (Prettier), then run every test. A type error, a lint error or
// an unformatted file fails before any suite runs.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureAll } from './ensure.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
ensureAll({ forTests: true });

/** Runs one gate; on failure says which and that no suite ran, and exits with its status. */
function gate(name, command, args) {
  const started = Date.now();
  const r = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: root });
  if (r.status !== 0) {
    process.stderr.write(`cumulo test: ${name} failed (${command}); no suite was run\n`);
    process.exit(r.status ?? 1);
  }
  process.stderr.write(`cumulo test: ${name} ok in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

gate('type check', 'tsc -p tsconfig.json --noEmit', [join(root, 'node_modules', 'typescript-go', 'bin', 'tsc'), '-p', 'tsconfig.json', '--noEmit']);
gate('lint', 'npm run lint', [join(root, 'node_modules', 'eslint', 'bin', 'eslint.js'), '.']);
gate('format', 'npm run format:check; npm run format rewrites', [join(root, 'node_modules', 'prettier', 'bin', 'prettier.cjs'), '--check', '--log-level', 'warn', '.']);

const r = spawnSync(process.execPath, [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...process.argv.slice(2)], {
  stdio: 'inherit',
  cwd: root,
  env: { ...process.env, AWS_SDK_JS_SUPPRESS_NODE_DEPRECATION_WARNING: '1' },
});
process.exit(r.status ?? 1);
