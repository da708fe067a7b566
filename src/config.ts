// Configuration from the environment. One object, read once at start, passed down.
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface RegionConfig {
  name: string;
  /** Zone letters: 'a', 'b', 'c' → us-east-1a, us-east-1b, us-east-1c. */
  zones: string[];
}

export interface Config {
  home: string;
  host: string;
  port: number;
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
}

const DEFAULT_REGIONS = ['us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-southeast-1', 'ap-northeast-1'];

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const home = env.CUMULO_HOME || join(homedir(), '.cumulo');
  const regionNames = (env.CUMULO_REGIONS || DEFAULT_REGIONS.join(','))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const zones = (env.CUMULO_ZONES || 'a,b,c').split(',').map((s) => s.trim()).filter(Boolean);
  const auth = env.CUMULO_AUTH === 'permissive' ? 'permissive' : 'strict';
  return {
    home,
    host: env.CUMULO_HOST || '127.0.0.1',
    port: Number(env.CUMULO_PORT || 8773),
    auth,
    regions: regionNames.map((name) => ({ name, zones })),
    defaultRegion: env.CUMULO_DEFAULT_REGION || regionNames[0] || 'us-east-1',
    driver: env.CUMULO_DRIVER || 'runc',
    maxBodyBytes: Number(env.CUMULO_MAX_BODY_BYTES || 1024 * 1024),
    terminatedRetentionMs: Number(env.CUMULO_TERMINATED_RETENTION_MS || 60 * 60 * 1000),
    publicPool: env.CUMULO_PUBLIC_IPV4_POOL || '198.18.0.0/16',
    egress: env.CUMULO_EGRESS === 'on',
  };
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
