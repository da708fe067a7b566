// Regenerates src/models/data/<signingName>.json from the Smithy schemas that the current
// @aws-sdk/client-* v3 packages ship (their compiled schemas, read through @smithy/core/schema's
// NormalizedSchema), so the server parses exactly what a current SDK sends. Run after updating the
// client packages:  npm run models   (or: npx tsx scripts/models.ts [--check] [service…])
// --check compares instead of writing and exits 1 when a committed file is stale.
import { readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { NormalizedSchema } from '@smithy/core/schema';
import type { ModelFile, RawMember, RawShape, WireProtocol } from '../src/models/index.js';

interface Source {
  pkg: string;
  /** The service's abbreviation, as the Query error messages name it (the v3 packages record only the sdkId). */
  serviceName: string;
  /**
   * Every protocol the Smithy model lists, in its order, when it lists more than the one the v3
   * client is generated with (runtimeConfig.shared.js records only that one, and
   * awsQueryCompatible). From the service's Smithy model (aws/api-models-aws); botocore's
   * `metadata.protocols` says the same.
   */
  listed?: WireProtocol[];
}

const SOURCES: Record<string, Source> = {
  ec2: { pkg: '@aws-sdk/client-ec2', serviceName: 'Amazon EC2' },
  sts: { pkg: '@aws-sdk/client-sts', serviceName: 'AWS STS' },
  iam: { pkg: '@aws-sdk/client-iam', serviceName: 'IAM' },
  elasticloadbalancing: { pkg: '@aws-sdk/client-elastic-load-balancing-v2', serviceName: 'Elastic Load Balancing v2' },
  autoscaling: { pkg: '@aws-sdk/client-auto-scaling', serviceName: 'Auto Scaling' },
  // CloudWatch's model: @rpcv2Cbor, @awsJson1_0, @awsQuery (and @awsQueryCompatible). SDK v3 for
  // JavaScript speaks awsJson1_0; botocore (AWS CLI, boto3) picks the first it knows: CBOR.
  monitoring: { pkg: '@aws-sdk/client-cloudwatch', serviceName: 'CloudWatch', listed: ['rpcv2-cbor', 'json1.0', 'query'] },
};

/**
 * Members whose numbers are floating point. The compiled schemas have one numeric kind (`1`) for
 * byte…double, so they cannot say which members take "1.5"; everything else parses as an integer.
 * Taken from the Smithy models (float/double targets). Named `Structure.Member`; a list item
 * `ListShape.member` when the list has a schema of its own, else (lists and maps of plain scalars
 * are bare numbers in the schemas) `Structure.Member.member` / `.value`. The generator fails on an
 * entry that names no numeric member; a new float member it cannot see: compare with botocore's
 * service-2.json (float/double shapes) when updating.
 */
const FLOATS: Record<string, string[]> = {
  ec2: [
    'CapacityReservationFleet.TotalFulfilledCapacity',
    'ClientData.UploadSize',
    'CreateCapacityReservationFleetResult.TotalFulfilledCapacity',
    'EbsCardInfo.BaselineThroughputInMBps',
    'EbsCardInfo.MaximumThroughputInMBps',
    'EbsOptimizedInfo.BaselineThroughputInMBps',
    'EbsOptimizedInfo.MaximumThroughputInMBps',
    'FleetCapacityReservation.FulfilledCapacity',
    'FleetCapacityReservation.Weight',
    'FleetData.FulfilledCapacity',
    'FleetData.FulfilledOnDemandCapacity',
    'FleetLaunchTemplateOverrides.WeightedCapacity',
    'FleetLaunchTemplateOverrides.Priority',
    'FleetLaunchTemplateOverridesRequest.WeightedCapacity',
    'FleetLaunchTemplateOverridesRequest.Priority',
    'GpuDeviceInfo.GpuPartitionSize',
    'IpamDiscoveredResourceCidr.IpUsage',
    'IpamResourceCidr.IpUsage',
    'LaunchTemplateOverrides.WeightedCapacity',
    'LaunchTemplateOverrides.Priority',
    'MemoryGiBPerVCpu.Min',
    'MemoryGiBPerVCpu.Max',
    'MemoryGiBPerVCpuRequest.Min',
    'MemoryGiBPerVCpuRequest.Max',
    'MetricPoint.Value',
    'MetricValue.Value',
    'NetworkBandwidthGbps.Min',
    'NetworkBandwidthGbps.Max',
    'NetworkBandwidthGbpsRequest.Min',
    'NetworkBandwidthGbpsRequest.Max',
    'NetworkCardInfo.BaselineBandwidthInGbps',
    'NetworkCardInfo.PeakBandwidthInGbps',
    'PriceSchedule.Price',
    'PriceScheduleSpecification.Price',
    'PricingDetail.Price',
    'ProcessorInfo.SustainedClockSpeedInGhz',
    'RecurringCharge.Amount',
    'ReservationFleetInstanceSpecification.Weight',
    'ReservedInstanceLimitPrice.Amount',
    'ReservedInstances.UsagePrice',
    'ReservedInstances.FixedPrice',
    'ReservedInstancesOffering.UsagePrice',
    'ReservedInstancesOffering.FixedPrice',
    'SnapshotDetail.DiskImageSize',
    'SnapshotTaskDetail.DiskImageSize',
    'SpotFleetLaunchSpecification.WeightedCapacity',
    'SpotFleetRequestConfigData.FulfilledCapacity',
    'SpotFleetRequestConfigData.OnDemandFulfilledCapacity',
    'TotalLocalStorageGB.Min',
    'TotalLocalStorageGB.Max',
    'TotalLocalStorageGBRequest.Min',
    'TotalLocalStorageGBRequest.Max',
  ],
  elasticloadbalancing: ['ZonalCapacityReservationState.EffectiveCapacityUnits'],
  autoscaling: [
    'CapacityForecast.Values.member',
    'ExecutePolicyType.BreachThreshold',
    'ExecutePolicyType.MetricValue',
    'LoadForecast.Values.member',
    'MemoryGiBPerVCpuRequest.Max',
    'MemoryGiBPerVCpuRequest.Min',
    'NetworkBandwidthGbpsRequest.Max',
    'NetworkBandwidthGbpsRequest.Min',
    'PredictiveScalingMetricSpecification.TargetValue',
    'StepAdjustment.MetricIntervalLowerBound',
    'StepAdjustment.MetricIntervalUpperBound',
    'TargetTrackingConfiguration.TargetValue',
    'TotalLocalStorageGBRequest.Max',
    'TotalLocalStorageGBRequest.Min',
  ],
  monitoring: [
    'Datapoint.Average',
    'Datapoint.ExtendedStatistics.value',
    'Datapoint.Maximum',
    'Datapoint.Minimum',
    'Datapoint.SampleCount',
    'Datapoint.Sum',
    'GetInsightRuleReportOutput.AggregateValue',
    'InsightRuleContributor.ApproximateAggregateValue',
    'InsightRuleContributorDatapoint.ApproximateValue',
    'InsightRuleMetricDatapoint.Average',
    'InsightRuleMetricDatapoint.MaxContributorValue',
    'InsightRuleMetricDatapoint.Maximum',
    'InsightRuleMetricDatapoint.Minimum',
    'InsightRuleMetricDatapoint.SampleCount',
    'InsightRuleMetricDatapoint.Sum',
    'InsightRuleMetricDatapoint.UniqueContributors',
    'MetricAlarm.Threshold',
    'MetricDataResult.Values.member',
    'MetricDatum.Counts.member',
    'MetricDatum.Value',
    'MetricDatum.Values.member',
    'PutMetricAlarmInput.Threshold',
    'StatisticSet.Maximum',
    'StatisticSet.Minimum',
    'StatisticSet.SampleCount',
    'StatisticSet.Sum',
  ],
};

/** The v3 protocol classes (runtimeConfig.shared.js) and the wire protocol each speaks. */
const PROTOCOL_CLASSES: Record<string, WireProtocol> = {
  AwsEc2QueryProtocol: 'ec2',
  AwsQueryProtocol: 'query',
  AwsJson1_0Protocol: 'json1.0',
  AwsJson1_1Protocol: 'json1.1',
  AwsSmithyRpcV2CborProtocol: 'rpcv2-cbor',
};

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const outDir = join(root, 'src/models/data');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type CommandCtor = new (input: any) => { schema?: unknown[] };

/** The settings the package's client is generated with: its protocol class and protocolSettings. */
function runtimeSettings(pkgDir: string): { protocolClass: string; settings: Record<string, string | boolean> } {
  const text = readFileSync(join(pkgDir, 'dist-es/runtimeConfig.shared.js'), 'utf8');
  const protocolClass = /protocol:\s*config\?\.protocol\s*\?\?\s*(\w+)/.exec(text)?.[1];
  const block = /protocolSettings:\s*config\?\.protocolSettings\s*\?\?\s*\{([^}]*)\}/.exec(text)?.[1];
  if (!protocolClass || block === undefined) throw new Error(`${pkgDir}: no protocol in runtimeConfig.shared.js`);
  const settings: Record<string, string | boolean> = {};
  for (const m of block.matchAll(/(\w+):\s*(?:"([^"]*)"|(true|false))/g)) settings[m[1]!] = m[2] ?? m[3] === 'true';
  return { protocolClass, settings };
}

/** Enum names per structure member, from the package's type declarations (the schemas drop enums). */
function enumRefs(pkgDir: string, enumNames: Set<string>): Map<string, string> {
  const out = new Map<string, string>();
  const dir = join(pkgDir, 'dist-types/models');
  for (const f of readdirSync(dir).filter((f) => /^models_\d+\.d\.ts$/.test(f))) {
    let current: string | undefined;
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      const open = /^export interface (\w+) \{/.exec(line);
      if (open) current = open[1];
      else if (line === '}') current = undefined;
      else if (current) {
        const m = /^ {4}(\w+)\??: \(?(\w+)\)?(\[\])?(?: \| undefined)?;$/.exec(line);
        if (m && enumNames.has(m[2]!)) out.set(`${current}.${m[1]}`, m[2]!);
      }
    }
  }
  return out;
}

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

class Builder {
  readonly shapes: Record<string, RawShape> = {};
  readonly enums: Record<string, string[]> = {};
  private floats: Set<string>;
  readonly floatsSeen = new Set<string>();
  constructor(
    private enumValues: Record<string, string[]>,
    private enumOf: Map<string, string>,
    floats: string[],
  ) {
    this.floats = new Set(floats);
  }

  /** A member: a reference to a named aggregate, or an inline scalar (or unnamed list/map). */
  member(ns: NormalizedSchema, where: string, enumName?: string): RawMember {
    const t = ns.getMergedTraits() as Record<string, unknown>;
    const m: RawMember = {};
    if (ns.isStructSchema() || ns.isListSchema() || ns.isMapSchema()) {
      // Lists and maps of plain scalars are compact numbers in the schemas (64 | 1: a list of
      // numbers) and carry no name of their own (getName() gives the member's): kept inline.
      const sc = ns.getSchema();
      const name = typeof sc === 'object' && sc !== null ? ns.getName() : undefined;
      if (name) {
        m.shape = name;
        if (!(name in this.shapes)) {
          this.shapes[name] = {} as RawShape; // placeholder first: shapes refer to themselves
          this.shapes[name] = this.aggregate(ns, name, enumName);
        }
      } else Object.assign(m, this.aggregate(ns, where, enumName));
    } else Object.assign(m, this.scalar(ns, where, enumName));
    // Names that say nothing new are left out (the file is loaded at every start): an @xmlName equal
    // to the member's name, an @ec2QueryName equal to what EC2 derives (the capitalised xmlName).
    const memberName = ns.getMemberName();
    const xmlName = typeof t.xmlName === 'string' ? t.xmlName : undefined;
    if (xmlName !== undefined && xmlName !== memberName) m.xmlName = xmlName;
    const derived = cap(xmlName ?? memberName ?? '');
    if (typeof t.ec2QueryName === 'string' && t.ec2QueryName !== derived) m.ec2QueryName = t.ec2QueryName;
    if (t.xmlFlattened) m.flattened = true;
    if (typeof t.jsonName === 'string') m.jsonName = t.jsonName;
    if (t.idempotencyToken) m.idempotencyToken = true;
    return m;
  }

  private aggregate(ns: NormalizedSchema, name: string, enumName?: string): RawShape {
    if (ns.isListSchema()) return { type: 'list', member: this.member(ns.getValueSchema(), `${name}.member`, enumName) };
    if (ns.isMapSchema()) {
      return { type: 'map', key: this.member(ns.getKeySchema(), `${name}.key`), value: this.member(ns.getValueSchema(), `${name}.value`) };
    }
    const raw = ns.getSchema() as unknown[];
    // [3, namespace, name, traits, memberNames, memberSchemas, requiredCount]: required members come first.
    const requiredCount = Array.isArray(raw) && typeof raw[6] === 'number' ? raw[6] : 0;
    const members: Record<string, RawMember> = {};
    const names: string[] = [];
    for (const [k, m] of ns.structIterator()) {
      names.push(k);
      members[k] = this.member(m, `${name}.${k}`, this.enumOf.get(`${name}.${k}`));
    }
    const s: RawShape = { type: 'structure', members };
    if (requiredCount) s.required = names.slice(0, requiredCount);
    return s;
  }

  private scalar(ns: NormalizedSchema, where: string, enumName?: string): RawMember {
    const sc = ns.getSchema();
    if (ns.isBlobSchema()) return { type: 'blob' };
    if (ns.isBooleanSchema()) return { type: 'boolean' };
    if (ns.isNumericSchema()) {
      if (!this.floats.has(where)) return { type: 'integer' };
      this.floatsSeen.add(where);
      return { type: 'double' };
    }
    if (ns.isTimestampSchema()) {
      const fmt = sc === 5 ? 'iso8601' : sc === 6 ? 'rfc822' : sc === 7 ? 'unixTimestamp' : undefined;
      return fmt ? { type: 'timestamp', timestampFormat: fmt } : { type: 'timestamp' };
    }
    if (ns.isStringSchema()) {
      if (enumName && this.enumValues[enumName]) {
        // The SDK renames an enum that shares a structure's name (_InstanceType); the model calls it InstanceType.
        const key = enumName.startsWith('_') && !this.enumValues[enumName.slice(1)] ? enumName.slice(1) : enumName;
        this.enums[key] = this.enumValues[enumName];
        return { type: 'string', enum: key };
      }
      return { type: 'string' };
    }
    throw new Error(`models: ${where}: unsupported schema ${JSON.stringify(sc)}`);
  }
}

async function build(signingName: string, src: Source): Promise<ModelFile> {
  const pkgDir = dirname(require.resolve(`${src.pkg}/package.json`));
  const version = (JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string }).version;
  const mod = (await import(src.pkg)) as Record<string, unknown>;
  const { protocolClass, settings } = runtimeSettings(pkgDir);
  const primary = PROTOCOL_CLASSES[protocolClass];
  if (!primary) throw new Error(`${src.pkg}: unknown protocol class ${protocolClass}`);
  const awsQueryCompatible = settings.awsQueryCompatible === true;
  const protocols: WireProtocol[] = src.listed ?? [primary];
  if (!protocols.includes(primary)) throw new Error(`${src.pkg}: speaks ${primary}, which the listed protocols lack`);
  if (awsQueryCompatible && !protocols.includes('query')) throw new Error(`${src.pkg}: awsQueryCompatible, but awsQuery is not listed`);

  // Enum objects are the exports whose values are all strings (commands and classes are functions).
  const enumValues: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(mod)) {
    if (v && typeof v === 'object' && !Array.isArray(v) && Object.values(v).length && Object.values(v).every((x) => typeof x === 'string')) {
      enumValues[k] = Object.values(v as Record<string, string>);
    }
  }
  const b = new Builder(enumValues, enumRefs(pkgDir, new Set(Object.keys(enumValues))), FLOATS[signingName] ?? []);
  const operations: ModelFile['operations'] = {};
  const commands = Object.entries(mod)
    .filter(([k, v]) => k.endsWith('Command') && k !== '$Command' && typeof v === 'function')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [k, ctor] of commands) {
    const name = k.slice(0, -'Command'.length);
    const schema = new (ctor as CommandCtor)({}).schema;
    if (!Array.isArray(schema) || schema[0] !== 9) throw new Error(`${src.pkg}: ${k} has no operation schema`);
    const op: ModelFile['operations'][string] = {};
    const input = NormalizedSchema.of(schema[4] as never);
    const output = NormalizedSchema.of(schema[5] as never);
    if (!input.isUnitSchema()) op.input = b.member(input, name).shape!;
    if (!output.isUnitSchema()) {
      op.output = b.member(output, name).shape!;
      // awsQuery wraps every output in <{Operation}Result>; EC2's dialect wraps nothing.
      if (protocols.includes('query')) op.resultWrapper = `${name}Result`;
    }
    operations[name] = op;
  }
  // A FLOATS entry that names no numeric member is stale (renamed or removed upstream): say so.
  const unused = (FLOATS[signingName] ?? []).filter((f) => !b.floatsSeen.has(f));
  if (unused.length) throw new Error(`${src.pkg}: FLOATS names no numeric member: ${unused.join(', ')}`);
  const sortKeys = <T>(o: Record<string, T>) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return {
    generatedFrom: `${src.pkg}@${version}`,
    signingName,
    apiVersion: String(settings.version),
    xmlNamespace: String(settings.xmlNamespace ?? ''),
    serviceName: src.serviceName,
    smithyNamespace: String(settings.defaultNamespace),
    targetPrefix: String(settings.serviceTarget),
    protocols,
    awsQueryCompatible,
    operations,
    shapes: sortKeys(b.shapes),
    enums: sortKeys(b.enums),
  };
}

/** One line per operation, shape and enum: compact, yet a model update reads as a small diff. */
function serialize(m: ModelFile): string {
  const lines: string[] = ['{'];
  const head = Object.entries(m).filter(([k]) => k !== 'operations' && k !== 'shapes' && k !== 'enums');
  for (const [k, v] of head) lines.push(`${JSON.stringify(k)}: ${JSON.stringify(v)},`);
  const block = (key: string, o: Record<string, unknown>, last: boolean) => {
    const entries = Object.entries(o);
    lines.push(`${JSON.stringify(key)}: {`);
    entries.forEach(([k, v], i) => lines.push(`${JSON.stringify(k)}: ${JSON.stringify(v)}${i < entries.length - 1 ? ',' : ''}`));
    lines.push(last ? '}' : '},');
  };
  block('operations', m.operations, false);
  block('shapes', m.shapes, false);
  block('enums', m.enums, true);
  lines.push('}');
  return lines.join('\n') + '\n';
}

export const modelServices = Object.keys(SOURCES);
export const modelPath = (signingName: string) => join(outDir, `${signingName}.json`);

/** The text of src/models/data/<signingName>.json as the installed client package makes it. */
export async function generateModel(signingName: string): Promise<string> {
  const src = SOURCES[signingName];
  if (!src) throw new Error(`models: unknown service ${signingName}`);
  return serialize(await build(signingName, src));
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const check = args.includes('--check');
  const only = args.filter((a) => !a.startsWith('--'));
  let stale = 0;
  mkdirSync(outDir, { recursive: true });
  for (const signingName of modelServices) {
    if (only.length && !only.includes(signingName)) continue;
    const text = await generateModel(signingName);
    const model = JSON.parse(text) as ModelFile;
    let old = '';
    try {
      old = readFileSync(modelPath(signingName), 'utf8');
    } catch {
      /* new file */
    }
    const line = `${signingName}: ${Object.keys(model.operations).length} operations, ${Object.keys(model.shapes).length} shapes, ${model.protocols.join('+')} (${model.generatedFrom})`;
    if (check) {
      if (old !== text) stale++;
      console.log(`${line}${old === text ? '' : ' — STALE'}`);
    } else {
      if (old !== text) writeFileSync(modelPath(signingName), text);
      console.log(`${line}${old === text ? ', unchanged' : ', written'}`);
    }
  }
  if (stale) process.exitCode = 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
