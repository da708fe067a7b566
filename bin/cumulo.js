#!/usr/bin/env node
// Runs the built CLI (npm start builds it).
import('../dist/cli/main.js').catch((e) => {
  if (e && e.code === 'ERR_MODULE_NOT_FOUND') {
    console.error('cumulo: not built yet; run `npm start` (or `npm run build`) first');
    process.exit(1);
  }
  throw e;
});
