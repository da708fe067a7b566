// Vitest's global setup: runs once around the whole suite. After the last test file, no container,
// mount, loop device, namespace, veth, nftables table or cgroup made by a test may remain.
//
// Every test makes its state folder with mkdtemp(tmpdir()): TMPDIR points at a folder of this run,
// which the workers inherit, so objects named by path (mounts, loop devices, conmon's bundles) are
// this run's exactly, even while another run works on the same machine. Objects named by a host
// tag (netns, veths, nftables tables, cgroups) are compared with what was there before the run.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostObjects, newObjects, type HostObjects } from './host-leaks.js';
import { RUN_OWNER, sweepDeadRuns } from './dead-runs.js';

let before: HostObjects;
let runDir = '';
let savedTmp: string | undefined;

const byPath: (keyof HostObjects)[] = ['mounts', 'loopDevices', 'monitors', 'daemons'];

function leaks(): Partial<HostObjects> {
  const found = newObjects(before, hostObjects());
  for (const k of byPath) {
    // … and, for mounts, those under /run that carry a host tag (instances' views, namespaces).
    const mine = found[k]?.filter((x) => x.includes(runDir) || (k === 'mounts' && /^\/run\/(cumulo|netns)\//.test(x)));
    if (mine?.length) found[k] = mine;
    else delete found[k];
  }
  return found;
}

export async function setup(): Promise<void> {
  // Before `before` is taken: what a killed run left would otherwise count as the machine's own.
  await sweepDeadRuns();
  savedTmp = process.env.TMPDIR;
  runDir = mkdtempSync(join(tmpdir(), 'cumulo-test-run-'));
  writeFileSync(join(runDir, RUN_OWNER), String(process.pid));
  process.env.TMPDIR = runDir;
  before = hostObjects();
}

export async function teardown(): Promise<void> {
  // Teardown of the last file may still be letting go of a loop device: give it a moment.
  let leaked = leaks();
  for (let i = 0; i < 20 && Object.keys(leaked).length; i++) {
    await new Promise((r) => setTimeout(r, 250));
    leaked = leaks();
  }
  if (savedTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmp;
  // What tests left in their folders goes, unless something is still mounted there (rm would reach into it).
  if (!leaked.mounts) rmSync(runDir, { recursive: true, force: true });
  if (Object.keys(leaked).length) {
    process.exitCode = 1; // vitest reports a teardown error but would still exit 0
    throw new Error(`the tests left host objects behind (state folders under ${runDir}):\n${JSON.stringify(leaked, null, 2)}`);
  }
}
