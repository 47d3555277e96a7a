import { describe, expect, it } from 'vitest';
import { DAMAGE_TOLERATED_SHARDS, DAMAGE_WINDOW_MS, damageVerdict, mayBeUnreliable } from './damage.ts';

const now = 1_000 * DAMAGE_WINDOW_MS;

describe('damage reports', () => {
  it('tolerates a few damaged shards, or a small share of many', () => {
    expect(damageVerdict([{ at: now - 1, count: DAMAGE_TOLERATED_SHARDS }], 10, now)).toEqual({ reported: 4, limit: 4, unreliable: false });
    expect(damageVerdict([{ at: now - 1, count: 3 }, { at: now - 2, count: 2 }], 10, now).unreliable).toBe(true);
    // 5 % of 1,000 held shards.
    expect(damageVerdict([{ at: now - 1, count: 50 }], 1_000, now)).toEqual({ reported: 50, limit: 50, unreliable: false });
    expect(damageVerdict([{ at: now - 1, count: 51 }], 1_000, now).unreliable).toBe(true);
  });

  it('a holder reporting everything it holds is unreliable', () => {
    expect(damageVerdict([{ at: now - 5, count: 200 }], 200, now).unreliable).toBe(true);
  });

  it('counts only reports within the window, and ignores nonsense counts and future times', () => {
    const log = [
      { at: now - DAMAGE_WINDOW_MS - 1, count: 100 },
      { at: now - DAMAGE_WINDOW_MS + 1, count: 3 },
      { at: now + 60_000, count: 100 },
      { at: now - 3, count: Number.NaN },
      { at: now - 4, count: -7 },
    ];
    expect(damageVerdict(log, 10, now)).toEqual({ reported: 3, limit: 4, unreliable: false });
  });

  it('the pre-check never misses a holder the full verdict would judge unreliable', () => {
    for (let count = 0; count < 20; count++) {
      for (const held of [0, 10, 100, 1_000]) {
        const log = [{ at: now - 1, count }];
        if (damageVerdict(log, held, now).unreliable) expect(mayBeUnreliable(log, now)).toBe(true);
      }
    }
  });
});
