// Policy documents as IAM takes and answers them: parsed with IAM's messages, sized without
// whitespace, and answered URL-encoded (the AWS CLI decodes them; the SDKs hand them over as sent).
import { IamErrors } from './errors.js';
import { parsePolicy, PolicyDocumentError, type Policy, type PolicyKind } from './policy/index.js';

/** A document IAM accepts, parsed; MalformedPolicyDocument with IAM's message otherwise. */
export function parseDocument(text: string, kind: PolicyKind, id: string, requireCurrentVersion = false): Policy {
  try {
    return parsePolicy(text, kind, id, { requireCurrentVersion });
  } catch (e) {
    if (e instanceof PolicyDocumentError) throw IamErrors.malformedPolicyDocument(e.message);
    throw e;
  }
}

/** IAM counts a document's size without its whitespace. */
export function documentSize(text: string): number {
  return text.replace(/\s/g, '').length;
}

/** RFC 3986 percent-encoding, as IAM answers a document (spaces are %20, which `unquote` reverses). */
export function encodeDocument(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

// Parsed documents by (id, text): stored documents are parsed on every authorization, so keep the
// recent ones. Policies are immutable values, so sharing them is safe.
const parsed = new Map<string, Policy>();
const PARSED_MAX = 2000;

/** A stored (already validated) document, parsed once and kept. */
export function storedPolicy(text: string, kind: PolicyKind, id: string): Policy {
  const key = `${kind}\u0000${id}\u0000${text}`;
  let p = parsed.get(key);
  if (p) {
    parsed.delete(key);
    parsed.set(key, p);
    return p;
  }
  p = parsePolicy(text, kind, id);
  parsed.set(key, p);
  if (parsed.size > PARSED_MAX) parsed.delete(parsed.keys().next().value!);
  return p;
}
