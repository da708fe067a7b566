// Where the AWS SDK for JavaScript v3 (its compiled Smithy schemas) and the aws-sdk v2 model we
// serve from disagree. The v2 model was frozen when v2 reached end of support; v3 keeps following
// EC2, so v3 knows operations and members that v2 never had, and has dropped a few that v2 still
// lists. The round-trip test skips exactly the v2 members the SDK cannot carry, and reports the rest.
import { NormalizedSchema } from '@smithy/core/schema';
import type { Dialect } from '../src/api/protocol/query.js';
import { wireName } from '../src/api/protocol/query.js';
import type { Member, ServiceModel, Shape } from '../src/models/index.js';

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
  | 'operation only in the v2 model'
  | 'operation only in SDK v3'
  | 'member only in the v2 model'
  | 'member only in SDK v3'
  | 'type differs'
  | 'wire name differs'
  | 'timestamp format differs';

export interface Disagreement {
  kind: DisagreementKind;
  /** `Operation` or `ShapeName.Member` (shape names are the SDK's). */
  where: string;
  detail?: string;
}

function kindOf(ns: NormalizedSchema): string {
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

function kindOfV2(s: Shape): string {
  return s.type === 'integer' || s.type === 'long' || s.type === 'float' || s.type === 'double' ? 'number' : s.type;
}

const cap = (s: string) => s[0]!.toUpperCase() + s.slice(1);

export class ModelSdkDiff {
  readonly disagreements: Disagreement[] = [];
  /** v2 members the generator must leave out, because the SDK v3 cannot serialize or parse them. */
  private skipped = new WeakMap<Shape, Set<string>>();
  /** Members the SDK fills with a UUID when the caller leaves them out (Smithy @idempotencyToken). */
  private tokens = new WeakMap<Shape, Set<string>>();
  private seen = { input: new WeakSet<Shape>(), output: new WeakSet<Shape>() };
  private reported = new Set<string>();

  constructor(
    readonly model: ServiceModel,
    readonly commands: Map<string, CommandCtor>,
  ) {
    for (const name of model.operations.keys()) {
      if (!commands.has(name)) this.note('operation only in the v2 model', name, 'the SDK v3 has no command for it: not testable through the SDK');
    }
    for (const name of commands.keys()) {
      if (!model.operations.has(name)) this.note('operation only in SDK v3', name, 'added to EC2 after the v2 model froze: not in the model we serve');
    }
    for (const [name, op] of model.operations) {
      const ctor = commands.get(name);
      if (!ctor) continue;
      const sc = operationSchemas(ctor);
      if (op.input) this.compare(op.input, sc.input, 'input');
      if (op.output) this.compare(op.output, sc.output, 'output');
    }
  }

  skip = (shape: Shape, member: Member): boolean => this.skipped.get(shape)?.has(member.name) ?? false;
  idempotencyTokens(shape: Shape): Set<string> | undefined {
    return this.tokens.get(shape);
  }

  private note(kind: DisagreementKind, where: string, detail?: string): void {
    const key = `${kind}|${where}`;
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.disagreements.push(detail ? { kind, where, detail } : { kind, where });
  }

  private skipMember(shape: Shape, member: string): void {
    let set = this.skipped.get(shape);
    if (!set) this.skipped.set(shape, (set = new Set()));
    set.add(member);
  }

  private compare(v2: Shape, v3: NormalizedSchema, dir: 'input' | 'output'): void {
    if (this.seen[dir].has(v2)) return;
    this.seen[dir].add(v2);
    const dialect: Dialect = this.model.protocol;
    if (v2.type === 'list') {
      const member = v3.getValueSchema();
      const v2Name = v2.member!.locationName ?? (dir === 'output' && dialect === 'ec2' ? 'item' : 'member');
      const v3Name = member.getMergedTraits().xmlName ?? 'member';
      const flat = dir === 'input' && dialect === 'ec2';
      if (!flat && v2Name !== v3Name) this.note('wire name differs', `${v3.getName()}.member`, `v2 '${v2Name}', v3 '${v3Name}' (${dir})`);
      this.compareShape(v2.member!.shape, member, `${v3.getName()}.member`, dir);
      return;
    }
    if (v2.type === 'map') {
      this.compareShape(v2.value!.shape, v3.getValueSchema(), `${v3.getName()}.value`, dir);
      return;
    }
    if (v2.type !== 'structure') return;
    const name = v3.getName() ?? '?';
    const v3Members = new Map<string, NormalizedSchema>();
    for (const [k, ns] of v3.structIterator()) v3Members.set(k, ns);
    for (const m of Object.values(v2.members!)) {
      const ns = v3Members.get(m.name);
      if (!ns) {
        this.note('member only in the v2 model', `${name}.${m.name}`, `skipped (${dir}): the SDK v3 drops it`);
        this.skipMember(v2, m.name);
        continue;
      }
      const t = ns.getMergedTraits();
      if (dir === 'input' && t.idempotencyToken) {
        let set = this.tokens.get(v2);
        if (!set) this.tokens.set(v2, (set = new Set()));
        set.add(m.name);
      }
      const v2Wire = dir === 'input' ? wireName(m, dialect) : (m.locationName ?? m.name);
      const v3Wire =
        dir === 'input'
          ? dialect === 'ec2'
            ? (t.ec2QueryName ?? cap(t.xmlName ?? m.name))
            : (t.xmlName ?? m.name)
          : (t.xmlName ?? m.name);
      if (v2Wire !== v3Wire) {
        this.note('wire name differs', `${name}.${m.name}`, `skipped (${dir}): v2 '${v2Wire}', v3 '${v3Wire}'`);
        this.skipMember(v2, m.name);
        continue;
      }
      if (!this.compareShape(m.shape, ns, `${name}.${m.name}`, dir)) this.skipMember(v2, m.name);
    }
    for (const k of v3Members.keys()) {
      if (!v2.members![k]) this.note('member only in SDK v3', `${name}.${k}`, 'newer than the v2 model: never generated');
    }
  }

  /** False when the member has to be skipped. */
  private compareShape(v2: Shape, v3: NormalizedSchema, where: string, dir: 'input' | 'output'): boolean {
    const a = kindOfV2(v2);
    const b = kindOf(v3);
    if (a !== b) {
      this.note('type differs', where, `skipped (${dir}): v2 ${v2.type}, v3 ${b}`);
      return false;
    }
    if (b === 'timestamp' && dir === 'output') {
      // We always render ISO 8601; a member the SDK reads as epoch seconds or an HTTP date would not parse.
      const sc = v3.getSchema();
      if (sc === 6 || sc === 7) {
        this.note('timestamp format differs', where, `skipped (output): the SDK v3 expects ${sc === 7 ? 'epoch-seconds' : 'http-date'}`);
        return false;
      }
    }
    this.compare(v2, v3, dir);
    return true;
  }
}
