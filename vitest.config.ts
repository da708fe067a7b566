import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Fails the run when tests leave containers, mounts, loop devices or namespaces behind.
    globalSetup: ['test/global-setup.ts'],
  },
});
