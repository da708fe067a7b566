import { describe, expect, it } from 'vitest';
import { Revert } from './revert.js';
import { hostTag } from './tag.js';

describe('Revert', () => {
  it('unwinds newest first, past failing undos', async () => {
    const logged: string[] = [];
    const r = new Revert((l) => logged.push(l));
    const done: number[] = [];
    r.add(() => void done.push(1));
    r.add(() => {
      throw new Error('boom');
    });
    r.add(async () => void done.push(3));
    await r.unwind();
    expect(done).toEqual([3, 1]);
    expect(r.failures).toHaveLength(1);
    expect(logged).toEqual(['revert: an undo failed (left for cleanup): boom']);
    await r.unwind(); // nothing left
    expect(done).toEqual([3, 1]);
  });

  it('release keeps what was done', async () => {
    const r = new Revert();
    let undone = false;
    r.add(() => void (undone = true));
    r.release();
    await r.unwind();
    expect(undone).toBe(false);
  });
});

describe('hostTag', () => {
  it('is 4 hex digits, stable, and differs between homes', () => {
    expect(hostTag('/tmp/a')).toMatch(/^[0-9a-f]{4}$/);
    expect(hostTag('/tmp/a')).toBe(hostTag('/tmp/a/'));
    expect(hostTag('/tmp/a')).not.toBe(hostTag('/tmp/b'));
  });
});
