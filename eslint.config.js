// ESLint: typescript-eslint's recommended rules, and the layer arrows of ../shared/ARCHITECTURE.md
// as import boundaries (`npm run lint`; `npm test` runs it before any suite). Not type-aware: the
// type-checked rule set took 2 min 11 s of CPU over the tree against 19 s without (2 cores), and
// `tsc --noEmit` already runs before it.
import { defineConfig } from 'eslint/config';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

/** Every layer of src/ by its path; `app.ts` and `cli/` are the composition root that wires them. */
const L = {
  api: 'src/api',
  services: 'src/services',
  store: 'src/store',
  controllers: 'src/controllers',
  host: 'src/host',
  lib: 'src/lib',
  models: 'src/models',
  console: 'src/console',
  cli: 'src/cli',
  app: 'src/app.ts',
};
const root = [L.cli, L.app];
const here = import.meta.dirname;
/** Glob zones match absolute paths. */
const abs = (glob) => `${here}/${glob}`;

/** A zone: files under `target` may not import files under `from` (folders or files, or one folder
 * with `except`ed subfolders); `why` ends the lint message. */
const zone = (target, from, why, except) => ({ target, from, message: why, ...(except && { except }) });

// Arrows run down only: api → services → store; controllers → services' repositories, store and
// host; host knows no HTTP and no handler. The resolver turns every import (`../../api/errors.js`)
// into the file it names, so a relative path cannot slip past a zone.
const boundaries = [
  // lib is below everything: pure helpers that know nothing of the project.
  zone(L.lib, 'src', 'src/lib imports nothing of the project (it is below every layer).', ['./lib']),
  // The models are data and their types; only lib is below them.
  zone(L.models, 'src', 'src/models imports only src/lib.', ['./models', './lib']),
  // The store is the bottom of the request path: it knows no handler, no reconciler, no host part.
  zone(L.store, [L.api, L.services, L.controllers, L.host, L.console, ...root], 'src/store imports none of api/, services/, controllers/, host/.'),
  // Handlers validate and write desired state; the HTTP protocol is above them, the host and the
  // reconcilers that drive it below the store.
  zone(L.services, [L.api, L.host, L.controllers, L.console, ...root], 'src/services never imports api/, host/ or controllers/ (the error catalog lives in services/).'),
  // The host runs processes; it knows no HTTP, no handler and no reconciler (app.ts injects its facts).
  zone(L.host, [L.api, L.services, L.controllers, L.console, ...root], 'src/host never imports services/, api/ or controllers/: it knows no HTTP and no handler.'),
  // The API parses, verifies and dispatches to handlers; it never drives the host or a reconciler.
  zone(L.api, [L.controllers, L.host, L.console, ...root], 'src/api may import services/, models/, store/ and lib/ only.'),
  // Controllers use the services' repositories and rules, never a handler or the API.
  zone(L.controllers, [L.api, L.console, ...root], "src/controllers import the services' repositories, store and host: never api/."),
  zone(
    L.controllers,
    [`${L.services}/**/handlers.ts`, `${L.services}/{registry,context}.ts`].map(abs),
    'src/controllers never import a handler, the registry or the handler context.',
  ),
  // The console is a client of the public API only.
  zone(L.console, 'src', 'src/console is a client of the public API only.', ['./console']),
  // The product never imports the tests, benchmarks or scripts.
  zone('src', ['test', 'bench', 'scripts'], 'src never imports test/, bench/ or scripts/.'),
];

// Tests may import what they test, from any layer, and the harnesses in test/.
const tests = ['**/*.test.ts', 'test/**'];

export default defineConfig(
  { ignores: ['dist/**', 'coverage/**', '.cumulo-test/**', 'docs/**', 'src/models/data/**'] },
  tseslint.configs.recommended,
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // A variable that callbacks made before it is set will read stays `let` (it is set once, later).
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // A leading underscore marks a parameter, binding or rest sibling left unused on purpose.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    files: tests,
    // Tests read untyped answers (the AWS CLI's JSON, raw rows of any table).
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['src/store/migrations/**'],
    // Kysely's own rule for migrations: Kysely<any>, never today's schema, which later migrations change.
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['src/**/*.ts'],
    ignores: tests,
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver-next': [createTypeScriptImportResolver({ project: `${here}/tsconfig.json` })] },
    rules: {
      'import-x/no-restricted-paths': ['error', { zones: boundaries, basePath: here }],
      // An import the resolver cannot find would pass every zone unseen.
      'import-x/no-unresolved': 'error',
    },
  },
);
