// Configuration from the environment. One object, read once at start, passed down.
import { isIP } from 'node:net';
import { cpus, homedir, hostname, networkInterfaces, totalmem } from 'node:os';
import { join, resolve } from 'node:path';

export interface RegionConfig {
  name: string;
  /** Zone letters: 'a', 'b', 'c' → us-east-1a, us-east-1b, us-east-1c. */
  zones: string[];
}

export interface Config {
  home: string;
  /**
   * The host's master key, which wraps the secrets the store keeps (CUMULO_MASTER_KEY_FILE; by
   * default $CUMULO_HOME/master.key). Hosts sharing a PostgreSQL store need the same key.
   */
  masterKeyFile: string;
  host: string;
  port: number;
  /** HTTPS on the API's port (the same port as HTTP). */
  tls: TlsConfig;
  auth: 'strict' | 'permissive';
  regions: RegionConfig[];
  defaultRegion: string;
  /** Which InstanceDriver runs instances. */
  driver: string;
  /** Largest request body accepted, in bytes. */
  maxBodyBytes: number;
  /** How long a terminated instance stays visible, in milliseconds (EC2: about an hour). */
  terminatedRetentionMs: number;
  /**
   * Public IPv4 addresses (ephemeral public IPs and elastic IPs) come from this pool
   * (CUMULO_PUBLIC_IPV4_POOL). Its first address is the host as instances see the internet; the
   * host routes the others to the VPCs. The default is from 198.18.0.0/15, a block set aside for
   * benchmarking and never routed on the internet.
   */
  publicPool: string;
  /** NAT off the machine for instances with public IPs (CUMULO_EGRESS=on). Off by default. */
  egress: boolean;
  /** What RunInstances and StartInstances may place on this host (host admission). */
  hostCapacity: HostCapacity;
  /**
   * How many times a failing job runs before it gives up (CUMULO_JOB_MAX_ATTEMPTS, 8 by default:
   * about two minutes of backoff): its resource then goes to EC2's failure state, or, for host
   * cleanup, the job is parked until the next server start.
   */
  jobMaxAttempts: number;
}

/**
 * The host's CPUs and memory, and how far instances may overcommit them. An instance is admitted
 * while the vCPUs and memory of the instances placed here (pending to shutting-down) stay within
 * vcpus × cpuOvercommit and memoryMiB × memoryOvercommit.
 */
export interface HostCapacity {
  /** CUMULO_HOST_VCPUS; os.cpus().length by default. */
  vcpus: number;
  /** CUMULO_HOST_MEMORY_MIB; os.totalmem() by default. */
  memoryMiB: number;
  /** CUMULO_CPU_OVERCOMMIT: CPU is time-shared (each instance's cgroup quota), so 8 by default. */
  cpuOvercommit: number;
  /** CUMULO_MEMORY_OVERCOMMIT: memory limits are hard, so 1 by default. */
  memoryOvercommit: number;
}

/**
 * The API's certificate: the operator's own (CUMULO_TLS_CERT and CUMULO_TLS_KEY, PEM files: the
 * certificate chain and its key), or one signed by a CA made for the state folder ($CUMULO_HOME/tls)
 * for `names`.
 */
export interface TlsConfig {
  certFile?: string;
  keyFile?: string;
  /**
   * The names and addresses the made certificate is valid for: 127.0.0.1, ::1, localhost and
   * CUMULO_HOST (for a wildcard host, this machine's name and addresses), and CUMULO_TLS_NAMES.
   */
  names: string[];
}

const DEFAULT_REGIONS = ['us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-southeast-1', 'ap-northeast-1'];

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const home = env.CUMULO_HOME || join(homedir(), '.cumulo');
  const regionNames = (env.CUMULO_REGIONS || DEFAULT_REGIONS.join(','))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const zones = (env.CUMULO_ZONES || 'a,b,c')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const auth = env.CUMULO_AUTH === 'permissive' ? 'permissive' : 'strict';
  return {
    home,
    masterKeyFile: resolve(env.CUMULO_MASTER_KEY_FILE || join(home, 'master.key')),
    host: env.CUMULO_HOST || '127.0.0.1',
    // 0: any free port (tests).
    port: integer(env, 'CUMULO_PORT', 8773, { min: 0, max: 65535 }),
    tls: {
      certFile: env.CUMULO_TLS_CERT ? resolve(env.CUMULO_TLS_CERT) : undefined,
      keyFile: env.CUMULO_TLS_KEY ? resolve(env.CUMULO_TLS_KEY) : undefined,
      names: tlsNames(env.CUMULO_HOST || '127.0.0.1', env.CUMULO_TLS_NAMES),
    },
    auth,
    regions: regionNames.map((name) => ({ name, zones })),
    defaultRegion: env.CUMULO_DEFAULT_REGION || regionNames[0] || 'us-east-1',
    driver: env.CUMULO_DRIVER || 'runc',
    maxBodyBytes: integer(env, 'CUMULO_MAX_BODY_BYTES', 1024 * 1024, { min: 1 }),
    terminatedRetentionMs: integer(env, 'CUMULO_TERMINATED_RETENTION_MS', 60 * 60 * 1000, { min: 1 }),
    publicPool: env.CUMULO_PUBLIC_IPV4_POOL || '198.18.0.0/16',
    egress: env.CUMULO_EGRESS === 'on',
    hostCapacity: {
      vcpus: positiveNumber(env, 'CUMULO_HOST_VCPUS', () => Math.max(1, cpus().length)),
      memoryMiB: positiveNumber(env, 'CUMULO_HOST_MEMORY_MIB', () => Math.floor(totalmem() / (1024 * 1024))),
      cpuOvercommit: positiveNumber(env, 'CUMULO_CPU_OVERCOMMIT', () => 8),
      memoryOvercommit: positiveNumber(env, 'CUMULO_MEMORY_OVERCOMMIT', () => 1),
    },
    jobMaxAttempts: integer(env, 'CUMULO_JOB_MAX_ATTEMPTS', 8, { min: 1, max: 1000 }),
  };
}

const DNS_NAME = /^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

function tlsNames(host: string, extra: string | undefined): string[] {
  const names = ['127.0.0.1', '::1', 'localhost'];
  if (host === '0.0.0.0' || host === '::') {
    // Listening everywhere: clients may come by this machine's name or any of its addresses.
    if (DNS_NAME.test(hostname())) names.push(hostname());
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (!a.internal && !a.address.includes('%')) names.push(a.address);
  } else if (isIP(host) || DNS_NAME.test(host)) {
    names.push(host);
  }
  for (const n of (extra ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)) {
    if (!isIP(n) && !DNS_NAME.test(n)) throw new Error(`CUMULO_TLS_NAMES must list DNS names and IP addresses, not ${JSON.stringify(n)}`);
    names.push(n);
  }
  return [...new Set(names)];
}

/**
 * A whole number from the environment (decimal digits only), its default when unset or empty; a
 * value that does not parse or is out of range stops the start, naming the variable.
 */
function integer(env: NodeJS.ProcessEnv, name: string, dflt: number, range: { min: number; max?: number }): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return dflt;
  const n = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  if (!Number.isSafeInteger(n) || n < range.min || n > max) {
    const what = range.min === 1 && range.max === undefined ? 'a positive whole number' : `a whole number from ${range.min} to ${max}`;
    throw new Error(`${name} must be ${what}, not ${JSON.stringify(raw)}`);
  }
  return n;
}

/** A positive number from the environment, its default when unset; anything else stops the start. */
function positiveNumber(env: NodeJS.ProcessEnv, name: string, dflt: () => number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return dflt();
  const n = Number(raw.trim());
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, not ${JSON.stringify(raw)}`);
  return n;
}

export function zonesOf(config: Config, region: string): string[] {
  const r = config.regions.find((x) => x.name === region);
  return r ? r.zones.map((z) => region + z) : [];
}

/** EC2's zone ids look like use1-az1; derive one per zone from the region name. */
export function zoneId(zone: string): string {
  const m = /^([a-z]{2})-([a-z]+)-(\d+)([a-z])$/.exec(zone);
  if (!m) return zone;
  const [, geo, dir, n, letter] = m;
  return `${geo}${dir![0]}${n}-az${letter!.charCodeAt(0) - 96}`;
}
