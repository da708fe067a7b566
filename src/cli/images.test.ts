import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { builtinImages } from '../services/ec2/images/builtin.js';
import { imagesCommand, selectImages } from './images.js';

describe('selectImages', () => {
  const minimal = builtinImages.find((i) => i.source.builtin === 'minimal')!;
  const debian = builtinImages.find((i) => i.source.builtin === 'debian-12')!;
  it.each([
    [undefined, [minimal, debian]],
    ['minimal', [minimal]],
    ['debian', [debian]],
    ['debian-12', [debian]],
    [minimal.name, [minimal]],
    [debian.name, [debian]],
  ] as const)('%s', (name, want) => {
    expect(selectImages(name)).toEqual(want);
  });
  it('names the choices for an unknown image', () => {
    expect(() => selectImages('windows')).toThrow(/no built-in image 'windows' \(try: minimal, debian, cumulo-minimal-x86_64-/);
  });
});

describe('imagesCommand', () => {
  it('lists the images and where they are (not built in a fresh home)', async () => {
    const home = mkdtempSync(join(tmpdir(), 'cumulo-cli-images-'));
    const saved = { home: process.env.CUMULO_HOME, cache: process.env.CUMULO_IMAGE_CACHE };
    try {
      process.env.CUMULO_HOME = home;
      process.env.CUMULO_IMAGE_CACHE = join(home, 'cache');
      const lines: string[] = [];
      expect(await imagesCommand(loadConfig(), ['list'], (l) => lines.push(l))).toBe(0);
      expect(lines).toEqual(builtinImages.map((i) => `${i.name}\tnot built`));
      expect(await imagesCommand(loadConfig(), ['frobnicate'], (l) => lines.push(l))).toBe(2);
    } finally {
      for (const [k, v] of [
        ['CUMULO_HOME', saved.home],
        ['CUMULO_IMAGE_CACHE', saved.cache],
      ] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      rmSync(home, { recursive: true, force: true });
    }
  });
});
