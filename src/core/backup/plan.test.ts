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
});
