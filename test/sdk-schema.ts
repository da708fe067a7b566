// The SDK for JavaScript v3's compiled Smithy schemas, read through NormalizedSchema, next to the
// model we serve (generated from those same schemas by scripts/models.ts). The served model must
// agree with the SDK member by member: any disagreement is a bug in the generator or the loader.
import { NormalizedSchema } from '@smithy/core/schema';
import type { Dialect } from '../src/api/protocol/query.js';
import { wireName } from '../src/api/protocol/query.js';
import type { ServiceModel, Shape } from '../src/models/index.js';

type CommandCtor = new (input: any) => { schema?: unknown[] };

/** The SDK's commands of a client package, by operation name. */
export function sdkCommands(mod: Record<string, unknown>): Map<string, CommandCtor> {
  const out = new Map<string, CommandCtor>();
  for (const [k, v] of Object.entries(mod)) {
    if (k.endsWith('Command') && k !== '$Command' && typeof v === 'function') out.set(k.slice(0, -'Command'.length), v as CommandCtor);
  }
  return out;
}

/** The operation schema of a command: `[9, namespace, name, traits, input, output]`. */
export function operationSchemas(ctor: CommandCtor): { input: NormalizedSchema; output: NormalizedSchema } {
  const schema = new ctor({}).schema;
  if (!Array.isArray(schema) || schema[0] !== 9) throw new Error('sdk-schema: command without an operation schema');
  return { input: NormalizedSchema.of(schema[4] as never), output: NormalizedSchema.of(schema[5] as never) };
}

export type DisagreementKind =
  | 'operation only in the model'
  | 'operation only in SDK v3'
  | 'member only in the model'
  | 'member only in SDK v3'
  | 'type differs'
  | 'wire name differs'
  | 'required differs'
  | 'idempotency token differs';

export interface Disagreement {
  kind: DisagreementKind;
  /** `Operation` or `ShapeName.Member` (shape names are the SDK's). */
  where: string;
  detail?: string;
}

function kindOf(ns: NormalizedSchema): string {
  if (ns.isUnitSchema()) return 'unit';
  if (ns.isStructSchema()) return 'structure';
  if (ns.isListSchema()) return 'list';
  if (ns.isMapSchema()) return 'map';
  if (ns.isBlobSchema()) return 'blob';
  if (ns.isTimestampSchema()) return 'timestamp';
  if (ns.isBooleanSchema()) return 'boolean';
  if (ns.isNumericSchema()) return 'number';
  if (ns.isStringSchema()) return 'string';
  return `other(${String(ns.getSchema())})`;
}

function kindOfModel(s: Shape | undefined): string {
  if (!s) return 'unit';
  return s.type === 'integer' || s.type === 'long' || s.type === 'float' || s.type === 'double' ? 'number' : s.type;
}

const cap = (s: string) => s[0]!.toUpperCase() + s.slice(1);

export class ModelSdkDiff {
  readonly disagreements: Disagreement[] = [];
  private seen = { input: new WeakSet<Shape>(), output: new WeakSet<Shape>() };
  private reported = new Set<string>();

  constructor(
    readonly model: ServiceModel,
    readonly commands: Map<string, CommandCtor>,
  ) {
    for (const name of model.operations.keys()) {
      if (!commands.has(name)) this.note('operation only in the model', name);
    }
    for (const name of commands.keys()) {
      if (!model.operations.has(name)) this.note('operation only in SDK v3', name);
    }
    for (const [name, op] of model.operations) {
      const ctor = commands.get(name);
      if (!ctor) continue;
      const sc = operationSchemas(ctor);
      this.compareShape(op.input, sc.input, `${name} input`, 'input');
      this.compareShape(op.output, sc.output, `${name} output`, 'output');
    }
  }

  private note(kind: DisagreementKind, where: string, detail?: string): void {
    const key = `${kind}|${where}`;
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.disagreements.push(detail ? { kind, where, detail } : { kind, where });
  }

  private compare(ours: Shape, v3: NormalizedSchema, dir: 'input' | 'output'): void {
    if (this.seen[dir].has(ours)) return;
    this.seen[dir].add(ours);
    const dialect: Dialect = this.model.protocol;
    if (ours.type === 'list') {
      const member = v3.getValueSchema();
      const oursName = ours.member!.locationName ?? (dir === 'output' && dialect === 'ec2' ? 'item' : 'member');
      const v3Name = member.getMergedTraits().xmlName ?? 'member';
      const flat = dir === 'input' && dialect === 'ec2';
      if (!flat && oursName !== v3Name) this.note('wire name differs', `${v3.getName()}.member`, `ours '${oursName}', v3 '${v3Name}' (${dir})`);
      this.compareShape(ours.member!.shape, member, `${v3.getName()}.member`, dir);
      return;
    }
    if (ours.type === 'map') {
      this.compareShape(ours.key!.shape, v3.getKeySchema(), `${v3.getName()}.key`, dir);
      this.compareShape(ours.value!.shape, v3.getValueSchema(), `${v3.getName()}.value`, dir);
      return;
    }
    if (ours.type !== 'structure') return;
    const name = v3.getName() ?? '?';
    const v3Members = new Map<string, NormalizedSchema>();
    for (const [k, ns] of v3.structIterator()) v3Members.set(k, ns);
    const raw = v3.getSchema() as unknown[];
    // [3, namespace, name, traits, memberNames, memberSchemas, requiredCount]: required members come first.
    const v3Required = [...v3Members.keys()].slice(0, typeof raw[6] === 'number' ? raw[6] : 0);
    if (JSON.stringify(ours.required ?? []) !== JSON.stringify(v3Required)) {
      this.note('required differs', name, `ours ${JSON.stringify(ours.required ?? [])}, v3 ${JSON.stringify(v3Required)}`);
    }
    for (const m of Object.values(ours.members!)) {
      const ns = v3Members.get(m.name);
      if (!ns) {
        this.note('member only in the model', `${name}.${m.name}`, dir);
        continue;
      }
      const t = ns.getMergedTraits();
      if (Boolean(t.idempotencyToken) !== Boolean(m.idempotencyToken)) this.note('idempotency token differs', `${name}.${m.name}`);
      const oursWire = dir === 'input' ? wireName(m, dialect) : (m.locationName ?? m.name);
      const v3Wire = dir === 'input' ? (dialect === 'ec2' ? (t.ec2QueryName ?? cap(t.xmlName ?? m.name)) : (t.xmlName ?? m.name)) : (t.xmlName ?? m.name);
      if (oursWire !== v3Wire) this.note('wire name differs', `${name}.${m.name}`, `ours '${oursWire}', v3 '${v3Wire}' (${dir})`);
      if (Boolean(t.xmlFlattened) !== Boolean(m.flattened)) this.note('wire name differs', `${name}.${m.name}`, `flattened differs (${dir})`);
      this.compareShape(m.shape, ns, `${name}.${m.name}`, dir);
    }
    for (const k of v3Members.keys()) {
      if (!ours.members![k]) this.note('member only in SDK v3', `${name}.${k}`, dir);
    }
  }

  private compareShape(ours: Shape | undefined, v3: NormalizedSchema, where: string, dir: 'input' | 'output'): void {
    const a = kindOfModel(ours);
    const b = kindOf(v3);
    if (a !== b) {
      this.note('type differs', where, `ours ${a}, v3 ${b} (${dir})`);
      return;
    }
    if (ours) this.compare(ours, v3, dir);
  }
}
