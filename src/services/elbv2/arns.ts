// ELB's ARNs, ids and DNS names. Every resource ARN ends in a 16-hex-digit id:
//   arn:aws:elasticloadbalancing:<region>:<account>:loadbalancer/app/<name>/<id>   (net/ for NLBs)
//   …:targetgroup/<name>/<id>
//   …:listener/app/<lb name>/<lb id>/<id>
//   …:listener-rule/app/<lb name>/<lb id>/<listener id>/<id>
import { shortHex } from '../../lib/ids.js';

export type LoadBalancerType = 'application' | 'network';

/** 16 hex digits, as in every ELB ARN. */
export const newElbId = (): string => shortHex(16);

export const lbKind = (type: LoadBalancerType): 'app' | 'net' => (type === 'application' ? 'app' : 'net');

const prefix = (region: string, accountId: string) => `arn:aws:elasticloadbalancing:${region}:${accountId}`;

export const loadBalancerArn = (region: string, accountId: string, type: LoadBalancerType, name: string, id: string) =>
  `${prefix(region, accountId)}:loadbalancer/${lbKind(type)}/${name}/${id}`;

export const targetGroupArn = (region: string, accountId: string, name: string, id: string) => `${prefix(region, accountId)}:targetgroup/${name}/${id}`;

/** A listener's ARN from its load balancer's: the resource path after "loadbalancer/", and its own id. */
export const listenerArn = (loadBalancerArn: string, id: string) => `${loadBalancerArn.replace(':loadbalancer/', ':listener/')}/${id}`;

export const ruleArn = (listenerArn: string, id: string) => `${listenerArn.replace(':listener/', ':listener-rule/')}/${id}`;

/**
 * AWS's DNS names: `<name>-<n>.<region>.elb.amazonaws.com` for an ALB (internal ones prefixed with
 * `internal-`), `<name>-<hex>.elb.<region>.amazonaws.com` for an NLB. The number is derived from the id.
 */
export function loadBalancerDnsName(type: LoadBalancerType, scheme: 'internet-facing' | 'internal', name: string, id: string, region: string): string {
  const internal = scheme === 'internal' ? 'internal-' : '';
  if (type === 'application') return `${internal}${name}-${parseInt(id.slice(0, 10), 16) % 10 ** 10}.${region}.elb.amazonaws.com`;
  return `${internal}${name}-${id}.elb.${region}.amazonaws.com`;
}

/** Route 53's hosted zone of ELB names in a region (CanonicalHostedZoneId); us-east-1's are AWS's own. */
export function canonicalHostedZoneId(type: LoadBalancerType, region: string): string {
  const known: Record<string, [string, string]> = { 'us-east-1': ['Z35SXDOTRQ7X7K', 'Z26RNL4JYFTOTI'] };
  const pair = known[region] ?? ['Z' + hashTo(region, 13), 'Z' + hashTo(region + '/net', 13)];
  return type === 'application' ? pair[0] : pair[1];
}

function hashTo(s: string, n: number): string {
  let h = 2166136261;
  let out = '';
  for (let i = 0; out.length < n; i++) {
    h = Math.imul(h ^ s.charCodeAt(i % s.length) ^ i, 16777619) >>> 0;
    out += 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'[h % 36];
  }
  return out;
}
