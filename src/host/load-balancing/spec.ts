// What one load balancer's data plane should be on a host: pure data, built from the store by
// src/controllers/load-balancers.ts and applied by a LoadBalancing part (part.ts). Nothing here knows
// about rows, HAProxy or nftables: the engines' configurations are generated from it by pure,
// table-tested functions (haproxy/config.ts for HTTP, HTTPS, TCP and TLS listeners and every health
// check; l4.ts for an NLB's TCP, UDP and TCP_UDP listeners, nftables in the load balancer's
// namespace, which keeps the client's address).
//
// Network plumbing is the network part's: the load balancer's namespace and one interface per subnet
// are plugged like an instance's (HostNetwork.plug with the owner id `elb-<id>`, see ownerId), and
// its interfaces are in its VPC's VpcSpec, so their security groups filter like an instance's.

export type LoadBalancerType = 'application' | 'network';

export interface LoadBalancerSpec {
  /** The load balancer's ARN (its name in logs and the store). */
  arn: string;
  /** The 16-hex-digit id at the end of the ARN: names its processes and files on the host. */
  id: string;
  name: string;
  type: LoadBalancerType;
  accountId: string;
  region: string;
  vpcId: string;
  /** The private address of its interface in each subnet (what listeners bind to), one per zone. */
  addresses: { subnetId: string; zone: string; privateIp: string }[];
  attributes: LoadBalancerAttributes;
  listeners: ListenerSpec[];
  /** Every target group a listener's or rule's action forwards to, with its targets. */
  targetGroups: TargetGroupSpec[];
}

export interface LoadBalancerAttributes {
  /** idle_timeout.timeout_seconds (ALB): client and server inactivity timeouts. */
  idleTimeoutSeconds: number;
  /** routing.http2.enabled (ALB). */
  http2: boolean;
  /** routing.http.drop_invalid_header_fields.enabled (ALB). */
  dropInvalidHeaderFields: boolean;
  /** routing.http.x_amzn_tls_version_and_cipher_suite.enabled, …: the headers ALB adds (X-Forwarded-*) are always on. */
  xffClientPort: boolean;
  /** load_balancing.cross_zone.enabled: off, a zone's address sends only to targets in its zone (NLB default). */
  crossZone: boolean;
}

export type ListenerProtocol = 'HTTP' | 'HTTPS' | 'TCP' | 'TLS' | 'UDP' | 'TCP_UDP';

export interface ListenerSpec {
  arn: string;
  /** The listener's own 16-hex-digit id. */
  id: string;
  protocol: ListenerProtocol;
  port: number;
  /** HTTPS and TLS: the default certificate first, then the others (SNI picks among them). */
  certificates: CertificateSpec[];
  /** HTTPS and TLS: the security policy's protocols and ciphers (from DescribeSSLPolicies' table). */
  tls?: { protocols: string[]; ciphers: string[] };
  /** ALPN policy of a TLS listener (HTTP1Only, HTTP2Preferred, …), if set. */
  alpn?: string[];
  /** The rules by priority, lowest first; the default rule (priority 'default', no conditions) last. */
  rules: RuleSpec[];
}

export interface CertificateSpec {
  /** The IAM server certificate's ARN. */
  arn: string;
  /** PEM: the certificate, then its chain. */
  certificateChainPem: string;
  /** PEM: the private key (unwrapped: the engine writes it to a root-only file). */
  privateKeyPem: string;
}

export interface RuleSpec {
  arn: string;
  priority: number | 'default';
  /** All must match (each condition's values are alternatives). The default rule has none. */
  conditions: ConditionSpec[];
  action: ActionSpec;
}

export type ConditionSpec =
  /** Patterns with * (any characters) and ? (one); case-sensitive, matched against the path. */
  | { field: 'path-pattern'; values: string[] }
  /** Patterns with * and ?, case-insensitive, matched against the Host header (without its port). */
  | { field: 'host-header'; values: string[] }
  /** A header by name (case-insensitive) whose value matches one of the patterns (case-insensitive). */
  | { field: 'http-header'; name: string; values: string[] }
  /** Exact, case-sensitive methods. */
  | { field: 'http-request-method'; values: string[] }
  /** Query parameters: a key (absent: any key) and a value pattern (* and ?, case-insensitive). */
  | { field: 'query-string'; values: { key?: string; value: string }[] }
  /** The client's address in one of the CIDRs. */
  | { field: 'source-ip'; values: string[] };

export type ActionSpec =
  | {
      type: 'forward';
      /** One group with weight 1, or weighted groups (weights 0..999). */
      groups: { arn: string; weight: number }[];
      /** Target group stickiness: a client stays on the group it was sent to, for the duration. */
      groupStickinessSeconds?: number;
    }
  | {
      type: 'redirect';
      /** Each may hold #{protocol}, #{host}, #{port}, #{path}, #{query}, as ELB's RedirectConfig does. */
      protocol: string;
      host: string;
      port: string;
      path: string;
      query: string;
      statusCode: 301 | 302;
    }
  | { type: 'fixed-response'; statusCode: number; contentType?: string; messageBody?: string };

export type TargetGroupProtocol = 'HTTP' | 'HTTPS' | 'TCP' | 'TLS' | 'UDP' | 'TCP_UDP';

export interface TargetGroupSpec {
  arn: string;
  id: string;
  name: string;
  protocol: TargetGroupProtocol;
  /** HTTP1 | HTTP2 | GRPC, for HTTP and HTTPS groups. */
  protocolVersion?: string;
  healthCheck: HealthCheckSpec;
  attributes: TargetGroupAttributes;
  /** Registered targets (and draining ones), each resolved to the address traffic goes to. */
  targets: TargetSpec[];
}

export interface HealthCheckSpec {
  enabled: boolean;
  protocol: 'HTTP' | 'HTTPS' | 'TCP';
  /** A port, or 'traffic-port': each target's own. */
  port: number | 'traffic-port';
  /** HTTP and HTTPS checks. */
  path?: string;
  intervalSeconds: number;
  timeoutSeconds: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
  /** HTTP and HTTPS checks: the codes that mean healthy, as ELB's Matcher.HttpCode ('200', '200,202', '200-299'). */
  matcher?: string;
}

export interface TargetGroupAttributes {
  /** deregistration_delay.timeout_seconds: how long a deregistered target drains. */
  deregistrationDelaySeconds: number;
  /** stickiness.*: lb_cookie (ALB: the AWSALB cookie), source_ip (NLB), app_cookie (ALB: follows the application's cookie). */
  stickiness?: { type: 'lb_cookie' | 'source_ip' | 'app_cookie'; durationSeconds: number; cookieName?: string };
  /** slow_start.duration_seconds (ALB; 0: off): a new target's share ramps up over this time. */
  slowStartSeconds: number;
  /** load_balancing.algorithm.type (ALB). */
  algorithm: 'round_robin' | 'least_outstanding_requests' | 'weighted_random';
  /** preserve_client_ip.enabled (NLB). */
  preserveClientIp: boolean;
}

export interface TargetSpec {
  /** The registered id: an instance id or an IP address. */
  targetId: string;
  port: number;
  /** The address traffic goes to (an instance target's primary private IP). */
  ip: string;
  /** The target's zone (cross-zone off: only the load balancer's address in that zone sends to it). */
  zone?: string;
  /** Deregistered: no new requests; requests in flight finish (until the delay ends, then it is left out of the spec). */
  draining: boolean;
}

/** The owner id of a load balancer's interfaces in the network part (InterfaceSpec.instanceId, PlugSpec.instanceId). */
export const ownerId = (loadBalancerId: string): string => `elb-${loadBalancerId}`;
