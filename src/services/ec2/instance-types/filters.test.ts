import { describe, expect, it } from 'vitest';
import { applyFilters } from '../common/filters.js';
import { instanceTypes } from './catalog.js';
import { instanceTypeFilters } from './filters.js';

describe('instance type filters', () => {
  it('every getter works on every catalog entry', () => {
    const failures: string[] = [];
    for (const [name, get] of Object.entries(instanceTypeFilters)) {
      for (const t of instanceTypes) {
        try {
          get(t);
        } catch {
          failures.push(`${name} on ${t.InstanceType}`);
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it('numbers, booleans and lists match as EC2 prints them', () => {
    const pick = (name: string, values: string[]) => applyFilters([...instanceTypes], [{ Name: name, Values: values }], instanceTypeFilters).map((t) => t.InstanceType as string);
    expect(pick('instance-type', ['t3.micro'])).toEqual(['t3.micro']);
    expect(pick('bare-metal', ['true']).every((n) => n.includes('metal'))).toBe(true);
    expect(pick('burstable-performance-supported', ['true']).every((n) => n.startsWith('t'))).toBe(true);
    expect(pick('vcpu-info.valid-cores', ['1']).length).toBeGreaterThan(0);
    expect(pick('supported-virtualization-type', ['paravirtual']).every((n) => /^(m1|m3)\./.test(n))).toBe(true);
    expect(pick('processor-info.sustained-clock-speed-in-ghz', ['*']).length).toBeGreaterThan(0);
    expect(pick('network-info.efa-supported', ['true'])).toContain('p4d.24xlarge');
    expect(pick('current-generation', ['false'])).toContain('m1.small');
  });
});
