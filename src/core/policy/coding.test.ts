import { describe, expect, it } from 'vitest';
import { chooseCoding, commitThreshold, LOSS_PROBABILITY, probabilityMoreThan } from './coding.ts';

const few = LOSS_PROBABILITY['few-hours'];
const always = LOSS_PROBABILITY['always-on'];

describe('coding policy', () => {
  it('computes the Poisson-binomial tail exactly for small cases', () => {
    expect(probabilityMoreThan([0.5, 0.5], 0)).toBeCloseTo(0.75);
    expect(probabilityMoreThan([0.1, 0.1, 0.1], 1)).toBeCloseTo(3 * 0.01 * 0.9 + 0.001, 12);
    expect(probabilityMoreThan([0.2], 1)).toBe(0);
  });

  it('replicates with one, two or three browser partners (never a fragile (2,1))', () => {
    expect(chooseCoding([few])).toMatchObject({ k: 1, m: 0, replication: true });
    expect(chooseCoding([few, few])).toMatchObject({ k: 1, m: 1 });
    expect(chooseCoding([few, few, few])).toMatchObject({ k: 1, m: 2 });
  });

  it('uses erasure coding when enough reliable partners allow less overhead', () => {
    const c = chooseCoding(Array(8).fill(always));
    expect(c.k).toBeGreaterThan(1);
    expect(c.m).toBeGreaterThanOrEqual(2);
    expect(c.lossProbability).toBeLessThanOrEqual(1e-4);
    expect(c.overhead).toBeLessThan(4);
  });

  it('never exceeds the target when k > 1, and keeps k + m = n', () => {
    for (let n = 2; n <= 12; n++) {
      for (const p of [few, always, 0.05]) {
        const c = chooseCoding(Array(n).fill(p));
        expect(c.k + c.m).toBe(n);
        if (c.k > 1) expect(c.lossProbability).toBeLessThanOrEqual(1e-4);
      }
    }
  });

  it('less reliable partners get more parity', () => {
    const reliable = chooseCoding(Array(10).fill(always));
    const flaky = chooseCoding(Array(10).fill(few));
    expect(flaky.m).toBeGreaterThan(reliable.m);
  });

  it('commits a pack at min(n, k + 1) durable shards', () => {
    expect(commitThreshold(1, 0)).toBe(1);
    expect(commitThreshold(1, 2)).toBe(2);
    expect(commitThreshold(4, 2)).toBe(5);
  });

  it('refuses an empty partner list', () => {
    expect(() => chooseCoding([])).toThrow(/at least one partner/);
  });
});
