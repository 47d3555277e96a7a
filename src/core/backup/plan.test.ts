import { describe, expect, it } from 'vitest';
import type { PeerId } from '../ids.ts';
import { InvalidArgumentError } from '../errors.ts';
import { planStripes, survivalText } from './plan.ts';

const id = (c: string): PeerId => c.repeat(32) as PeerId;

describe('stripe plan', () => {
  it('refuses to plan without partners or with a partner twice', () => {
    expect(() => planStripes([])).toThrow(InvalidArgumentError);
    expect(() => planStripes([{ peerId: id('a'), availability: 'few-hours' }, { peerId: id('a'), availability: 'always-on' }])).toThrow(InvalidArgumentError);
  });

  it('with one partner stores one copy and says losing it loses the backup', () => {
    const plan = planStripes([{ peerId: id('b'), availability: 'always-on' }]);
    expect(plan).toMatchObject({ k: 1, m: 1, holders: [id('b'), null], threshold: 1, survivesLosing: 0 });
    expect(survivalText(plan)).toMatch(/losing that partner loses the backup/);
  });

  it('gives one shard to each partner in PeerId order, with min(n, k + 1) to commit', () => {
    const plan = planStripes(['c', 'a', 'b'].map((c) => ({ peerId: id(c), availability: 'few-hours' as const })));
    expect(plan.holders).toEqual([id('a'), id('b'), id('c')]);
    expect(plan.k + plan.m).toBe(3);
    expect(plan).toMatchObject({ k: 1, m: 2, threshold: 2, survivesLosing: 2 });
    expect(survivalText(plan)).toBe('Survives losing any 2 partners of your 3.');
  });

  it('codes wider stripes over many reliable partners', () => {
    const partners = 'abcdefgh'.split('').map((c) => ({ peerId: id(c), availability: 'always-on' as const }));
    const plan = planStripes(partners);
    expect(plan.k).toBeGreaterThan(1);
    expect(plan.threshold).toBe(plan.k + 1);
    expect(plan.holders).toHaveLength(8);
  });

  it('uses observed availability when given: rarely-online partners get more parity', () => {
    const partners = 'abcdefgh'.split('').map((c) => ({ peerId: id(c), availability: 'always-on' as const }));
    const promised = planStripes(partners);
    const seldom = planStripes(partners.map((p) => ({ ...p, observed: 0.3 })));
    expect(promised).toMatchObject({ k: 5, m: 3, survivesLosing: 3 });
    expect(seldom).toMatchObject({ k: 1, m: 7, survivesLosing: 7, threshold: 2 });
    expect(seldom.reachProbability).toBeGreaterThan(0.9);
    expect(survivalText(seldom)).toBe('Survives losing any 7 partners of your 8.');
  });

  it('takes a fixed (k, m) for tests only when it covers the partners exactly', () => {
    const partners = ['a', 'b', 'c'].map((c) => ({ peerId: id(c), availability: 'always-on' as const }));
    const plan = planStripes(partners, { override: { k: 2, m: 1 } });
    expect(plan).toMatchObject({ k: 2, m: 1, threshold: 3, survivesLosing: 1 });
    expect(plan.lossProbability).toBeGreaterThan(1e-4); // what the policy avoids, reported honestly
    expect(planStripes(partners, { override: null })).toMatchObject({ k: 1, m: 2 });
    for (const bad of [{ k: 2, m: 2 }, { k: 3, m: 0 }, { k: 0, m: 3 }, { k: 1.5, m: 1.5 }]) {
      expect(() => planStripes(partners, { override: bad })).toThrow(InvalidArgumentError);
    }
  });
});
