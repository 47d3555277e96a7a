import { describe, expect, it } from 'vitest';
import { MalformedError } from '../errors.ts';
import { addSpan, emptyPresence, estimateAvailability, parsePresence, PRIOR_WEIGHT_S, presenceTotals, WINDOW_HOURS, type PresenceRecord } from './presence.ts';

const H = 3_600_000;
const T0 = 1_700_000_000_000 - (1_700_000_000_000 % H); // on an hour boundary

describe('presence estimator', () => {
  it('splits spans over hourly buckets and counts online time within observed time', () => {
    let r = addSpan(emptyPresence(), T0 + 0.5 * H, T0 + 2.5 * H, true);
    expect(r.observed).toEqual([1800, 3600, 1800]);
    expect(r.online).toEqual([1800, 3600, 1800]);
    r = addSpan(r, T0 + 2.5 * H, T0 + 3 * H, false);
    expect(r.observed).toEqual([1800, 3600, 3600]);
    expect(r.online).toEqual([1800, 3600, 1800]);
    expect(presenceTotals(r, T0 + 3 * H)).toEqual({ observed: 9000, online: 7200 });
  });

  it('a partner seen a quarter of the observed time for a week is estimated near 0.25', () => {
    let r = emptyPresence();
    for (let h = 0; h < WINDOW_HOURS; h++) {
      r = addSpan(r, T0 + h * H, T0 + h * H + 0.25 * H, true);
      r = addSpan(r, T0 + h * H + 0.25 * H, T0 + (h + 1) * H, false);
    }
    const now = T0 + WINDOW_HOURS * H - 1; // still within the hour of the last bucket
    const a = estimateAvailability(r, now, 0.95);
    // A week of observation against a one-day prior at 0.95: (0.25·7 + 0.95) / 8.
    expect(a).toBeCloseTo((0.25 * 7 + 0.95) / 8, 6);
    expect(a).toBeLessThan(0.35);
  });

  it('falls back on the promised fraction without observation and moves little after minutes', () => {
    expect(estimateAvailability(null, T0, 0.6)).toBe(0.6);
    const r = addSpan(emptyPresence(), T0, T0 + 10 * 60_000, false);
    const a = estimateAvailability(r, T0 + 10 * 60_000, 0.6);
    expect(a).toBeCloseTo((0.6 * PRIOR_WEIGHT_S) / (600 + PRIOR_WEIGHT_S), 9);
    expect(a).toBeGreaterThan(0.59);
  });

  it('forgets what is older than the window', () => {
    let r = addSpan(emptyPresence(), T0, T0 + 24 * H, true);
    r = addSpan(r, T0 + (WINDOW_HOURS + 24) * H, T0 + (WINDOW_HOURS + 25) * H, false);
    expect(r.observed.length).toBeLessThanOrEqual(WINDOW_HOURS);
    const now = T0 + (WINDOW_HOURS + 25) * H;
    expect(presenceTotals(r, now)).toEqual({ observed: 3600, online: 0 });
    // Read later still, the old record shrinks to nothing within the window.
    expect(presenceTotals(r, now + WINDOW_HOURS * H)).toEqual({ observed: 0, online: 0 });
  });

  it('ignores empty and backwards spans and keeps a late span that is still in the window', () => {
    const r = addSpan(emptyPresence(), T0 + 5 * H, T0 + 6 * H, true);
    expect(addSpan(r, T0, T0, true)).toBe(r);
    expect(addSpan(r, T0 + H, T0, true)).toBe(r);
    const late = addSpan(r, T0 + 2 * H, T0 + 3 * H, false);
    expect(late.hour).toBe(r.hour);
    expect(presenceTotals(late, T0 + 6 * H)).toEqual({ observed: 7200, online: 3600 });
  });

  it('stays compact: at most one week of integer seconds', () => {
    let r = emptyPresence();
    for (let h = 0; h < 3 * WINDOW_HOURS; h += 5) r = addSpan(r, T0 + h * H + 123, T0 + h * H + 0.7 * H, h % 2 === 0);
    expect(r.observed.length).toBeLessThanOrEqual(WINDOW_HOURS);
    expect(r.observed.every((x) => Number.isInteger(x) && x <= 3600)).toBe(true);
    expect(JSON.stringify(r).length).toBeLessThan(2000);
    expect(parsePresence(JSON.parse(JSON.stringify(r)))).toEqual(r);
  });

  it('refuses malformed records and priors', () => {
    const bad: unknown[] = [
      null, 3, {}, { v: 2, hour: 1, observed: [], online: [] },
      { v: 1, hour: 1, observed: [1], online: [] },
      { v: 1, hour: 1, observed: [10], online: [11] },
      { v: 1, hour: 1, observed: [3601], online: [0] },
      { v: 1, hour: -1, observed: [], online: [] },
      { v: 1, hour: 1, observed: Array(WINDOW_HOURS + 1).fill(0), online: Array(WINDOW_HOURS + 1).fill(0) },
    ];
    for (const b of bad) expect(() => parsePresence(b)).toThrow(MalformedError);
    expect(() => estimateAvailability(null as PresenceRecord | null, T0, 2)).toThrow(/prior/);
  });
});
