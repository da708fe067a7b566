import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseContentType, parseUserData, partOf } from './mime.js';

function mime(parts: { type: string; body: string; headers?: string }[], boundary = '===============1234==', crlf = false): Buffer {
  const nl = crlf ? '\r\n' : '\n';
  const lines = ['Content-Type: multipart/mixed; boundary="' + boundary + '"', 'MIME-Version: 1.0', ''];
  for (const p of parts) {
    lines.push(`--${boundary}`, `Content-Type: ${p.type}; charset="us-ascii"`, ...(p.headers ? [p.headers] : []), '', p.body);
  }
  lines.push(`--${boundary}--`, '');
  return Buffer.from(lines.join(nl));
}

describe('parseUserData', () => {
  const single: [string, string, string][] = [
    ['#!/bin/bash\necho hi\n', 'shellscript', 'text/x-shellscript'],
    ['#cloud-config\nruncmd: [ls]\n', 'cloud-config', 'text/cloud-config'],
    ['#cloud-boothook\necho early\n', 'boothook', 'text/cloud-boothook'],
    ['#include\nhttp://example.com/x\n', 'include-url', 'text/x-include-url'],
    ['#include-once\nhttp://example.com/x\n', 'include-url', 'text/x-include-once-url'],
    ['#part-handler\ndef list_types(): pass\n', 'part-handler', 'text/part-handler'],
    ['## template: jinja\n#cloud-config\n', 'jinja', 'text/jinja2'],
    ['#cloud-config-archive\n- content: x\n', 'archive', 'text/cloud-config-archive'],
    ['hello world\n', 'unknown', 'text/x-not-multipart'],
  ];
  it.each(single)('a single part is told by its first line: %j', (data, kind, type) => {
    const parts = parseUserData(Buffer.from(data));
    expect(parts).toHaveLength(1);
    expect(parts[0]).toMatchObject({ kind, contentType: type });
    expect(parts[0]!.content.toString()).toBe(data);
  });

  it('gives no parts for empty user data', () => {
    expect(parseUserData(Buffer.alloc(0))).toEqual([]);
  });

  it('unpacks gzip first (magic 1f 8b)', () => {
    const parts = parseUserData(gzipSync('#!/bin/sh\necho zipped\n'));
    expect(parts[0]).toMatchObject({ kind: 'shellscript' });
    expect(parts[0]!.content.toString()).toBe('#!/bin/sh\necho zipped\n');
  });

  it('reads a MIME multipart archive in order, by content type', () => {
    const parts = parseUserData(
      mime([
        { type: 'text/cloud-config', body: '#cloud-config\nruncmd: [ls]' },
        { type: 'text/x-shellscript', body: '#!/bin/sh\necho one' },
        { type: 'text/x-include-url', body: 'http://example.com/' },
        { type: 'text/cloud-boothook', body: '#cloud-boothook\necho b' },
        { type: 'text/x-shellscript-per-boot', body: '#!/bin/sh\necho every boot' },
        { type: 'text/plain', body: '#!/bin/sh\necho sniffed' },
      ]),
    );
    expect(parts.map((p) => p.kind)).toEqual(['cloud-config', 'shellscript', 'include-url', 'boothook', 'per-boot', 'shellscript']);
    expect(parts[1]!.content.toString()).toBe('#!/bin/sh\necho one');
    expect(parts[5]!.content.toString()).toBe('#!/bin/sh\necho sniffed');
  });

  it('handles CRLF, base64 and quoted-printable bodies, filenames and nested multiparts', () => {
    const inner = ['Content-Type: multipart/alternative; boundary=inner', '', '--inner', 'Content-Type: text/x-shellscript', '', '#!/bin/sh', 'echo nested', '--inner--'].join(
      '\r\n',
    );
    const data = mime(
      [
        {
          type: 'text/x-shellscript',
          headers: 'Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename="setup.sh"',
          body: Buffer.from('#!/bin/sh\necho b64\n').toString('base64'),
        },
        { type: 'text/cloud-config', headers: 'Content-Transfer-Encoding: quoted-printable', body: '#cloud-config\r\nruncmd: [ "echo a=3Db" ]=\r\n' },
        { type: inner.split('\r\n')[0]!.replace('Content-Type: ', ''), body: inner.split('\r\n').slice(2).join('\r\n') },
      ],
      'b',
      true,
    );
    const parts = parseUserData(data);
    expect(parts.map((p) => [p.kind, p.filename])).toEqual([
      ['shellscript', 'setup.sh'],
      ['cloud-config', undefined],
      ['shellscript', undefined],
    ]);
    expect(parts[0]!.content.toString()).toBe('#!/bin/sh\necho b64\n');
    expect(parts[1]!.content.toString()).toBe('#cloud-config\r\nruncmd: [ "echo a=b" ]');
    expect(parts[2]!.content.toString()).toBe('#!/bin/sh\r\necho nested');
  });

  it('unpacks a gzip part and guesses its type again', () => {
    const data = mime([{ type: 'application/x-gzip', headers: 'Content-Transfer-Encoding: base64', body: gzipSync('#cloud-config\nhostname: z\n').toString('base64') }]);
    const parts = parseUserData(data);
    expect(parts[0]).toMatchObject({ kind: 'cloud-config' });
    expect(parts[0]!.content.toString()).toBe('#cloud-config\nhostname: z\n');
  });

  it('ignores a multipart without a boundary', () => {
    expect(parseUserData(Buffer.from('Content-Type: multipart/mixed\nMIME-Version: 1.0\n\nbody'))).toEqual([]);
  });

  it('refuses a gzip bomb rather than filling memory', () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
    expect(() => parseUserData(bomb)).toThrow();
  });
});

describe('parseContentType', () => {
  const cases: [string, string, Record<string, string>][] = [
    ['text/plain', 'text/plain', {}],
    ['Multipart/Mixed; Boundary="a;b"', 'multipart/mixed', { boundary: 'a;b' }],
    ['multipart/mixed; boundary=xyz; charset=utf-8', 'multipart/mixed', { boundary: 'xyz', charset: 'utf-8' }],
    ['text/x-shellscript; charset="us-ascii"', 'text/x-shellscript', { charset: 'us-ascii' }],
    ['multipart/mixed; boundary="q\\"uote"', 'multipart/mixed', { boundary: 'q"uote' }],
  ];
  it.each(cases)('%s', (v, type, params) => {
    expect(parseContentType(v)).toEqual({ type, params });
  });
});

describe('partOf', () => {
  it('takes a known type, else guesses', () => {
    expect(partOf(Buffer.from('echo x'), 'text/x-shellscript').kind).toBe('shellscript');
    expect(partOf(Buffer.from('#cloud-config\n')).kind).toBe('cloud-config');
    expect(partOf(Buffer.from('#!/bin/sh\n'), 'text/unknown').kind).toBe('shellscript');
  });
});
