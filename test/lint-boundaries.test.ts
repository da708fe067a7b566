// The layer arrows of eslint.config.js refuse a forbidden import and allow a permitted one. The code
// is linted in memory at a path inside the layer, so no file is written to the tree.
import { ESLint } from 'eslint';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const eslint = new ESLint({ cwd: root });

/** The import messages (boundaries, and imports the resolver cannot find) for `code` placed at `path`. */
async function boundaryErrors(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(root, path) });
  const fatal = result.messages.filter((m) => m.fatal);
  expect(fatal).toEqual([]);
  return result.messages.filter((m) => m.ruleId?.startsWith('import-x/')).map((m) => m.message);
}

describe('layer boundaries', () => {
  it('refuses services importing the API', async () => {
    const errors = await boundaryErrors('src/services/x.ts', "import '../api/dispatch.js';\n");
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/src\/services never imports api\//);
  });

  it('refuses services importing the API through a deeper relative path', async () => {
    const errors = await boundaryErrors('src/services/ec2/x/handlers.ts', "import '../../../api/dispatch.js';\n");
    expect(errors).toHaveLength(1);
  });

  it('refuses services importing the host', async () => {
    const errors = await boundaryErrors('src/services/x.ts', "import '../host/tag.js';\n");
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/src\/services never imports/);
  });

  it('refuses the host importing services', async () => {
    const errors = await boundaryErrors('src/host/x.ts', "import { ApiError } from '../services/errors.js';\nexport { ApiError };\n");
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/src\/host never imports services\//);
  });

  it('refuses the host importing the API', async () => {
    const errors = await boundaryErrors('src/host/dns/x.ts', "import '../../api/dispatch.js';\n");
    expect(errors).toHaveLength(1);
  });

  it('refuses lib importing any layer, and the product importing the tests', async () => {
    expect(await boundaryErrors('src/lib/x.ts', "import '../store/db.js';\n")).toHaveLength(1);
    expect(await boundaryErrors('src/store/x.ts', "import '../../test/requires.js';\n")).toHaveLength(1);
  });

  it('allows the arrows that run down', async () => {
    expect(await boundaryErrors('src/services/x.ts', "import '../store/db.js';\nimport '../lib/cidr.js';\n")).toEqual([]);
    expect(await boundaryErrors('src/api/x.ts', "import { ApiError } from '../services/errors.js';\nexport { ApiError };\n")).toEqual([]);
    expect(await boundaryErrors('src/controllers/x.ts', "import '../services/ec2/volumes/store.js';\nimport '../host/tag.js';\n")).toEqual([]);
  });

  it('lets a test import what it tests across layers', async () => {
    expect(await boundaryErrors('src/host/x.test.ts', "import '../services/ec2/images/builtin.js';\n")).toEqual([]);
  });
});
