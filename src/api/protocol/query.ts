// Parsing Query-protocol parameters into typed input, driven by the service model.
//
// Two dialects share this code. EC2 flattens every list and capitalises locationName:
//   Action=DescribeInstances&Filter.1.Name=instance-state-name&Filter.1.Value.1=running
// The awsQuery protocol (STS, IAM, Auto Scaling, ELBv2) wraps lists in "member":
//   Action=DescribeTargetGroups&Names.member.1=web
import { ApiError, Errors } from '../../services/errors.js';
import type { Member, Shape } from '../../models/index.js';
import { XML_FORBIDDEN } from './xml.js';

export type Dialect = 'ec2' | 'query';

/** A node of the parameter tree: `Filter.1.Name=x` becomes Filter → 1 → Name = x. */
interface ParamNode {
  value?: string;
  children?: Map<string, ParamNode>;
}

export function buildParamTree(params: Iterable<[string, string]>): ParamNode {
  const root: ParamNode = {};
  for (const [key, value] of params) {
    let node = root;
    for (const part of key.split('.')) {
      node.children ??= new Map();
      let next = node.children.get(part);
      if (!next) node.children.set(part, (next = {}));
      node = next;
    }
    node.value = value;
  }
  return root;
}

/**
 * Refuses a request whose parameter names or values (Action and Version included) hold a character
 * XML 1.0 forbids: stored, it would come back in some answer, perhaps another account's. The message
 * names the character by its code point, never the character itself.
 */
export function refuseXmlForbidden(params: Iterable<[string, string]>): void {
  for (const [key, value] of params) {
    const inKey = XML_FORBIDDEN.exec(key);
    if (inKey) {
      throw Errors.invalidParameterValue(`A parameter name contains the character ${codePoint(inKey[0])}, which XML 1.0 does not allow.`);
    }
    const inValue = XML_FORBIDDEN.exec(value);
    if (inValue) {
      throw Errors.invalidParameterValue(`Value for parameter ${key} is invalid: it contains the character ${codePoint(inValue[0])}, which XML 1.0 does not allow.`);
    }
  }
}

function codePoint(c: string): string {
  return 'U+' + c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
}

/** The wire name of a structure member. */
export function wireName(m: Member, dialect: Dialect): string {
  if (dialect === 'ec2') {
    if (m.queryName) return m.queryName;
    if (m.locationName) return m.locationName[0]!.toUpperCase() + m.locationName.slice(1);
    return m.name;
  }
  return m.locationName ?? m.name;
}

const INT = /^[+-]?\d+$/;
const FLOAT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export class QueryParser {
  constructor(private dialect: Dialect) {}

  /** Parse the tree against a structure shape. Unconsumed parameters are UnknownParameter. */
  parse(shape: Shape | undefined, tree: ParamNode): Record<string, unknown> {
    if (!shape) {
      const extra = tree.children && [...tree.children.keys()][0];
      if (extra !== undefined) throw Errors.unknownParameter(extra);
      return {};
    }
    return this.structure(shape, tree, '') as Record<string, unknown>;
  }

  private value(shape: Shape, node: ParamNode, path: string): unknown {
    switch (shape.type) {
      case 'structure':
        return this.structure(shape, node, path);
      case 'list':
        return this.list(shape, node, path);
      case 'map':
        return this.map(shape, node, path);
      default:
        return this.scalar(shape, node, path);
    }
  }

  private structure(shape: Shape, node: ParamNode, path: string): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const seen = new Set<string>();
    if (node.children) {
      for (const m of Object.values(shape.members!)) {
        const name = wireName(m, this.dialect);
        const child = node.children.get(name);
        if (!child) continue;
        seen.add(name);
        out[m.name] = this.value(m.shape, child, path ? `${path}.${name}` : name);
      }
      for (const key of node.children.keys()) {
        if (!seen.has(key)) throw Errors.unknownParameter(path ? `${path}.${key}` : key);
      }
    } else if (node.value !== undefined && node.value !== '' && path) {
      throw Errors.invalidParameterValue(`Invalid value '${node.value}' for ${path}: a structure is expected`);
    }
    for (const req of shape.required ?? []) {
      if (out[req] === undefined) {
        const m = shape.members![req]!;
        const name = wireName(m, this.dialect);
        throw Errors.missingParameter(path ? `${path}.${name}` : name);
      }
    }
    return out;
  }

  private indexed(node: ParamNode, path: string): [number, ParamNode][] {
    const items: [number, ParamNode][] = [];
    for (const [k, child] of node.children ?? []) {
      if (!/^[1-9]\d{0,6}$/.test(k)) throw Errors.unknownParameter(`${path}.${k}`);
      items.push([Number(k), child]);
    }
    return items.sort((a, b) => a[0] - b[0]);
  }

  private list(shape: Shape, node: ParamNode, path: string): unknown[] {
    // An empty list is sent as "Name=" (awsQuery) or not at all (EC2).
    if (!node.children) {
      if (node.value === undefined || node.value === '') return [];
      throw Errors.invalidParameterValue(`Invalid value '${node.value}' for ${path}: a list is expected (${path}.1, ${path}.2, …)`);
    }
    let container = node;
    let prefix = path;
    const flattened = this.dialect === 'ec2' || shape.flattened || shape.member!.flattened;
    if (!flattened) {
      const inner = node.children.get(shape.member!.locationName ?? 'member');
      if (!inner || node.children.size !== 1) {
        const other = [...node.children.keys()].find((k) => k !== (shape.member!.locationName ?? 'member'));
        throw Errors.unknownParameter(`${path}.${other ?? ''}`);
      }
      container = inner;
      prefix = `${path}.${shape.member!.locationName ?? 'member'}`;
    }
    return this.indexed(container, prefix).map(([i, child]) => this.value(shape.member!.shape, child, `${prefix}.${i}`));
  }

  private map(shape: Shape, node: ParamNode, path: string): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    if (!node.children) return out;
    let container = node;
    let prefix = path;
    if (this.dialect !== 'ec2' && !shape.flattened) {
      const inner = node.children.get('entry');
      if (!inner || node.children.size !== 1) throw Errors.unknownParameter(`${path}.${[...node.children.keys()][0]}`);
      container = inner;
      prefix = `${path}.entry`;
    }
    const keyName = shape.key!.locationName ?? 'key';
    const valueName = shape.value!.locationName ?? 'value';
    for (const [i, entry] of this.indexed(container, prefix)) {
      const k = entry.children?.get(keyName);
      const v = entry.children?.get(valueName);
      if (!k || k.value === undefined) throw Errors.missingParameter(`${prefix}.${i}.${keyName}`);
      for (const extra of entry.children!.keys()) {
        if (extra !== keyName && extra !== valueName) throw Errors.unknownParameter(`${prefix}.${i}.${extra}`);
      }
      out[k.value] = v ? this.value(shape.value!.shape, v, `${prefix}.${i}.${valueName}`) : '';
    }
    return out;
  }

  private scalar(shape: Shape, node: ParamNode, path: string): unknown {
    if (node.children) throw Errors.unknownParameter(`${path}.${[...node.children.keys()][0]}`);
    const raw = node.value ?? '';
    switch (shape.type) {
      case 'string':
        return raw;
      case 'integer':
      case 'long': {
        if (!INT.test(raw)) throw Errors.invalidParameterValue(`Invalid value '${raw}' for ${path}. Expected an integer.`);
        const n = Number(raw);
        if (!Number.isSafeInteger(n)) throw Errors.invalidParameterValue(`Value (${raw}) for parameter ${path} is out of range.`);
        return n;
      }
      case 'float':
      case 'double': {
        if (!FLOAT.test(raw)) throw Errors.invalidParameterValue(`Invalid value '${raw}' for ${path}. Expected a number.`);
        return Number(raw);
      }
      case 'boolean': {
        const l = raw.toLowerCase();
        if (l === 'true') return true;
        if (l === 'false') return false;
        throw Errors.invalidParameterValue(`Invalid value '${raw}' for ${path}. Expected 'true' or 'false'.`);
      }
      case 'timestamp': {
        const d = INT.test(raw) || FLOAT.test(raw) ? new Date(Number(raw) * 1000) : new Date(raw);
        if (Number.isNaN(d.getTime())) throw Errors.invalidParameterValue(`Invalid value '${raw}' for ${path}. Expected an ISO 8601 date.`);
        return d;
      }
      case 'blob': {
        const compact = raw.replace(/\s+/g, '');
        if (!BASE64.test(compact) || compact.length % 4 === 1) {
          throw Errors.invalidParameterValue(`Invalid BASE64 encoding of ${path}`);
        }
        return Buffer.from(compact, 'base64');
      }
      default:
        throw new ApiError('InternalError', `model: unexpected scalar type ${shape.type}`, 500);
    }
  }
}
