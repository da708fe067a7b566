// The official AWS service models, as published in the `aws-sdk` package (apis/*.min.json).
// Shapes are normalised once here so that the protocol code walks one simple tree.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { applyOverlay } from './overlay.js';

export type ShapeType = 'structure' | 'list' | 'map' | 'string' | 'integer' | 'long' | 'float' | 'double' | 'boolean' | 'timestamp' | 'blob';

interface RawMember {
  shape?: string;
  type?: ShapeType;
  locationName?: string;
  queryName?: string;
  flattened?: boolean;
  members?: Record<string, RawMember>;
  member?: RawMember;
  key?: RawMember;
  value?: RawMember;
  required?: string[];
  enum?: string[];
  timestampFormat?: string;
  xmlNamespace?: unknown;
  resultWrapper?: string;
}

/** A resolved shape: references followed, defaults filled in. Member-level names stay on Member. */
export interface Shape {
  type: ShapeType;
  members?: Record<string, Member>;
  required?: string[];
  member?: Member;
  key?: Member;
  value?: Member;
  flattened?: boolean;
  enum?: string[];
  timestampFormat?: string;
}

export interface Member {
  /** The name the shape's members are keyed by in our typed objects (PascalCase, the SDK's names). */
  name: string;
  locationName?: string;
  queryName?: string;
  flattened?: boolean;
  timestampFormat?: string;
  shape: Shape;
}

export interface Operation {
  name: string;
  input?: Shape;
  output?: Shape;
  resultWrapper?: string;
}

/** A wire protocol, by the names of the models' metadata.protocols (`json` split by jsonVersion). */
export type WireProtocol = 'ec2' | 'query' | 'json1.0' | 'json1.1' | 'rpcv2-cbor';

export interface ServiceModel {
  /** Signing name, as in the credential scope: ec2, sts, iam, … */
  signingName: string;
  protocol: 'ec2' | 'query';
  /** Every protocol the current model lists (the service answers in each). */
  protocols: WireProtocol[];
  /** The Smithy service shape's name: X-Amz-Target's prefix and rpcv2Cbor's /service/<name>. */
  targetPrefix: string;
  /** aws.protocols#awsQueryCompatible: JSON and CBOR errors also carry x-amzn-query-error. */
  awsQueryCompatible: boolean;
  apiVersion: string;
  xmlNamespace: string;
  serviceName: string;
  operations: Map<string, Operation>;
}

interface RawModel {
  metadata: {
    apiVersion: string;
    protocol: string;
    endpointPrefix: string;
    signingName?: string;
    serviceAbbreviation?: string;
    serviceFullName: string;
    xmlNamespace?: string;
  };
  operations: Record<string, { input?: RawMember; output?: RawMember & { resultWrapper?: string } }>;
  shapes: Record<string, RawMember>;
}

class Resolver {
  private cache = new Map<string, Shape>();
  constructor(private shapes: Record<string, RawMember>) {}

  shape(raw: RawMember): Shape {
    if (raw.shape) {
      const named = raw.shape;
      const hit = this.cache.get(named);
      if (hit) return hit;
      const target = this.shapes[named];
      if (!target) throw new Error(`model: unknown shape ${named}`);
      // Insert before resolving children: recursive shapes refer to themselves.
      const out = {} as Shape;
      this.cache.set(named, out);
      Object.assign(out, this.build(target));
      return out;
    }
    return this.build(raw);
  }

  member(name: string, raw: RawMember): Member {
    const m: Member = { name, shape: this.shape(raw) };
    if (raw.locationName !== undefined) m.locationName = raw.locationName;
    if (raw.queryName !== undefined) m.queryName = raw.queryName;
    if (raw.flattened) m.flattened = true;
    if (raw.timestampFormat) m.timestampFormat = raw.timestampFormat;
    return m;
  }

  private build(raw: RawMember): Shape {
    const type: ShapeType = raw.type ?? (raw.members ? 'structure' : raw.member ? 'list' : raw.key ? 'map' : 'string');
    const s: Shape = { type };
    if (raw.enum) s.enum = raw.enum;
    if (raw.timestampFormat) s.timestampFormat = raw.timestampFormat;
    if (raw.flattened) s.flattened = true;
    if (type === 'structure') {
      s.members = {};
      for (const [k, v] of Object.entries(raw.members ?? {})) s.members[k] = this.member(k, v);
      if (raw.required) s.required = raw.required;
    } else if (type === 'list') {
      s.member = this.member('member', raw.member ?? {});
    } else if (type === 'map') {
      s.key = this.member('key', raw.key ?? {});
      s.value = this.member('value', raw.value ?? {});
    }
    return s;
  }
}

const require = createRequire(import.meta.url);
const apisDir = join(dirname(require.resolve('aws-sdk/package.json')), 'apis');

const files: Record<string, string> = {
  ec2: 'ec2-2016-11-15.min.json',
  sts: 'sts-2011-06-15.min.json',
  iam: 'iam-2010-05-08.min.json',
  autoscaling: 'autoscaling-2011-01-01.min.json',
  elasticloadbalancing: 'elasticloadbalancingv2-2015-12-01.min.json',
  monitoring: 'monitoring-2010-08-01.min.json',
};

// Until the loader reads the current models (branch i11-models): what they list, as the v3 clients
// say (runtimeConfig.shared.js protocolSettings; @aws-sdk/client-cloudwatch 3.1178's README names
// awsJson1_0, its default, awsQuery and Smithy RPC v2 CBOR). aws-sdk v2's monitoring model
// predates CloudWatch's JSON 1.0 and CBOR protocols (2025).
const current: Record<string, Pick<ServiceModel, 'protocols' | 'targetPrefix' | 'awsQueryCompatible'>> = {
  ec2: { protocols: ['ec2'], targetPrefix: 'AmazonEC2', awsQueryCompatible: false },
  sts: { protocols: ['query'], targetPrefix: 'AWSSecurityTokenServiceV20110615', awsQueryCompatible: false },
  iam: { protocols: ['query'], targetPrefix: 'AWSIdentityManagementV20100508', awsQueryCompatible: false },
  autoscaling: { protocols: ['query'], targetPrefix: 'AutoScaling_2011_01_01', awsQueryCompatible: false },
  elasticloadbalancing: { protocols: ['query'], targetPrefix: 'ElasticLoadBalancing_v10', awsQueryCompatible: false },
  monitoring: { protocols: ['json1.0', 'rpcv2-cbor', 'query'], targetPrefix: 'GraniteServiceVersion20100801', awsQueryCompatible: true },
};

const loaded = new Map<string, ServiceModel>();

/** The model of a service by its signing name. Loaded on first use; EC2's is large. */
export function loadModel(signingName: string): ServiceModel | undefined {
  const hit = loaded.get(signingName);
  if (hit) return hit;
  const file = files[signingName];
  if (!file) return undefined;
  const raw = JSON.parse(readFileSync(join(apisDir, file), 'utf8')) as RawModel;
  applyOverlay(signingName, raw);
  const r = new Resolver(raw.shapes);
  const operations = new Map<string, Operation>();
  for (const [name, op] of Object.entries(raw.operations)) {
    const o: Operation = { name };
    if (op.input) o.input = r.shape(op.input);
    if (op.output) {
      o.output = r.shape(op.output);
      if (op.output.resultWrapper) o.resultWrapper = op.output.resultWrapper;
    }
    operations.set(name, o);
  }
  const md = raw.metadata;
  const model: ServiceModel = {
    signingName,
    protocol: md.protocol === 'ec2' ? 'ec2' : 'query',
    ...current[signingName]!,
    apiVersion: md.apiVersion,
    xmlNamespace: typeof md.xmlNamespace === 'string' ? md.xmlNamespace : `https://${md.endpointPrefix}.amazonaws.com/doc/${md.apiVersion}/`,
    serviceName: md.serviceAbbreviation ?? md.serviceFullName,
    operations,
  };
  loaded.set(signingName, model);
  return model;
}

export const serviceNames = Object.keys(files);
