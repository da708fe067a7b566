// Strict well-formedness for the answers tests receive. fast-xml-parser's validator checks the
// syntax but lets through characters XML 1.0 forbids (a raw \x01, &#1;, U+FFFF), which the AWS CLI
// (Python's expat) and other strict clients refuse; so the bytes are also checked against the Char
// production here, and can be handed to expat itself (expatProblems).
import { spawn } from 'node:child_process';
import { XMLValidator } from 'fast-xml-parser';

// for…of walks code points, so a surrogate pair is one character and a lone surrogate stands alone.
/** XML 1.0 §2.2: Char ::= #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF] */
function isXmlChar(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

/** The first character of `s` that XML 1.0 forbids, as U+XXXX, or undefined. */
export function forbiddenIn(s: string): string | undefined {
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (!isXmlChar(cp) || (ch.length === 1 && cp >= 0xd800 && cp <= 0xdfff)) return `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  }
  return undefined;
}

/** Why these bytes are not a well-formed XML 1.0 document in UTF-8, or undefined when they are. */
export function xmlProblem(bytes: Buffer | string): string | undefined {
  let text: string;
  try {
    text = typeof bytes === 'string' ? bytes : new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return 'not valid UTF-8';
  }
  const bad = forbiddenIn(text);
  if (bad) return `forbidden character ${bad}`;
  for (const m of text.matchAll(/&#(x[0-9a-fA-F]+|[0-9]+);/g)) {
    const cp = m[1]![0] === 'x' ? parseInt(m[1]!.slice(1), 16) : Number(m[1]);
    if (!isXmlChar(cp)) return `reference to a forbidden character: ${m[0]}`;
  }
  const v = XMLValidator.validate(text);
  return v === true ? undefined : `${v.err.code}: ${v.err.msg} (line ${v.err.line})`;
}

/** Python's expat (what the AWS CLI parses with) on each document: its error, or null. */
export function expatProblems(docs: Buffer[]): Promise<(string | null)[]> {
  const script = [
    'import sys, json, base64, xml.parsers.expat',
    'out = []',
    'for line in sys.stdin:',
    '    p = xml.parsers.expat.ParserCreate()',
    '    try:',
    '        p.Parse(base64.b64decode(line.strip()), True)',
    '        out.append(None)',
    '    except xml.parsers.expat.ExpatError as e:',
    '        out.append(str(e))',
    'print(json.dumps(out))',
  ].join('\n');
  return new Promise((resolve, reject) => {
    const py = spawn('python3', ['-c', script], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    py.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    py.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    py.on('error', reject);
    py.on('close', (code) => {
      if (code !== 0) return reject(new Error(`python3 exited ${code}: ${stderr}`));
      resolve(JSON.parse(stdout) as (string | null)[]);
    });
    py.stdin.end(docs.map((d) => d.toString('base64')).join('\n') + '\n');
  });
}
