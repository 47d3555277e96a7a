import { describe, expect, it } from 'vitest';
import { chooseCoding, commitThreshold, evaluateCoding, LOSS_PROBABILITY, probabilityMoreThan } from './coding.ts';

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

  it('refuses availabilities that do not match the partners', () => {
    expect(() => chooseCoding([few, few], { availability: [0.5] })).toThrow(/one availability/);
    expect(() => chooseCoding([few], { availability: [1.5] })).toThrow(/one availability/);
  });
});

describe('coding from observed availability', () => {
  const most = LOSS_PROBABILITY['most-of-day'];
  // n partners, loss level, availability → expected (k, m). Availability is the observed chance
  // a partner is online at a random moment; reach target 0.9, loss target 1e-4.
  const table: [n: number, loss: number, availability: number, k: number, m: number][] = [
    [1, always, 0.95, 1, 0],
    [2, always, 0.95, 1, 1],
    [3, always, 0.95, 1, 2], // never (2,1): three copies survive any two losses
    [3, few, 0.15, 1, 2],
    [4, always, 0.95, 2, 2],
    [4, always, 0.6, 1, 3], // (2,2) reaches 2 of 4 online only 82 % of the time
    [5, always, 0.95, 3, 2],
    [5, most, 0.6, 2, 3],
    [8, always, 0.95, 5, 3],
    [8, most, 0.6, 3, 5], // durability alone allows (4,4); reachability asks for more parity
    [8, few, 0.5, 2, 6],
    [8, few, 0.15, 1, 7], // rarely online: plain replication
    [10, always, 0.95, 7, 3],
    [10, always, 0.6, 4, 6],
    [10, few, 0.15, 1, 9],
    [12, always, 0.3, 2, 10],
  ];
  it.each(table)('%i partners, loss %f, online %f → (%i, %i)', (n, loss, a, k, m) => {
    const c = chooseCoding(Array(n).fill(loss), { availability: Array(n).fill(a) });
    expect([c.k, c.m]).toEqual([k, m]);
    if (k > 1) {
      expect(c.lossProbability).toBeLessThanOrEqual(1e-4);
      expect(c.reachProbability).toBeGreaterThanOrEqual(0.9);
    }
  });

  it('never chooses a code with k ≥ 2 and a single parity shard', () => {
    for (let n = 2; n <= 16; n++) {
      for (const loss of [0, 1e-6, few, always]) {
        for (const a of [0.05, 0.3, 0.6, 0.95, 1]) {
          const c = chooseCoding(Array(n).fill(loss), { availability: Array(n).fill(a) });
          if (c.k >= 2) expect(c.m).toBeGreaterThanOrEqual(2);
          expect(c.k + c.m).toBe(n);
        }
      }
    }
  });

  it('less availability never means less parity', () => {
    for (let n = 2; n <= 16; n++) {
      let prevM = -1;
      for (const a of [1, 0.95, 0.8, 0.6, 0.45, 0.3, 0.15, 0.05]) {
        const c = chooseCoding(Array(n).fill(always), { availability: Array(n).fill(a) });
        expect(c.m).toBeGreaterThanOrEqual(prevM);
        prevM = c.m;
      }
    }
  });

  it('takes each partner as observed: one rarely-online partner among reliable ones costs parity', () => {
    const all = chooseCoding(Array(6).fill(always), { availability: Array(6).fill(0.95) });
    const one = chooseCoding(Array(6).fill(always), { availability: [0.95, 0.95, 0.95, 0.95, 0.95, 0.02] });
    expect(all).toMatchObject({ k: 3, m: 3 });
    expect(one.m).toBeGreaterThanOrEqual(all.m);
    expect(one.reachProbability).toBeLessThan(all.reachProbability);
  });

  it('evaluates a given k: reach is the chance that at most m holders are offline', () => {
    const c = evaluateCoding(2, [0.1, 0.1, 0.1], [0.5, 0.5, 0.5]);
    expect(c).toMatchObject({ k: 2, m: 1, overhead: 1.5, replication: false });
    expect(c.reachProbability).toBeCloseTo(0.5, 12); // P(at least 2 of 3 fair coins)
    expect(c.lossProbability).toBeCloseTo(0.028, 12);
  });
});
