import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.ts';
import { applyRetention, checkPolicy, DEFAULT_RETENTION, describeReasons, periodsOf, type RetentionPolicy } from './retention.ts';

const H = 3_600_000;
const D = 24 * H;
const none: RetentionPolicy = { keepLast: 0, keepDaily: 0, keepWeekly: 0, keepMonthly: 0 };
/** Wednesday 2026-11-25 12:00 UTC. */
const NOW = Date.UTC(2026, 10, 25, 12);

const snap = (id: string, createdAt: number) => ({ id, createdAt });
const ids = (xs: readonly { id: string }[]) => xs.map((x) => x.id);

describe('retention policy', () => {
  it('keeps only the newest when every count is 0, and nothing of nothing', () => {
    const s = [snap('a', NOW - 2 * D), snap('b', NOW), snap('c', NOW - D)];
    const d = applyRetention(s, none);
    expect(ids(d.keep.map((k) => k.snapshot))).toEqual(['b']);
    expect(d.keep[0]!.reasons).toEqual(['newest']);
    expect(ids(d.forget)).toEqual(['c', 'a']);
    expect(applyRetention([], DEFAULT_RETENTION)).toEqual({ keep: [], forget: [] });
  });

  it('keep last n keeps the n newest', () => {
    const s = Array.from({ length: 6 }, (_, i) => snap(`s${i}`, NOW - i * H));
    const d = applyRetention(s, { ...none, keepLast: 3 });
    expect(ids(d.keep.map((k) => k.snapshot))).toEqual(['s0', 's1', 's2']);
    expect(d.keep.map((k) => k.reasons)).toEqual([['newest', 'last'], ['last'], ['last']]);
    expect(ids(d.forget)).toEqual(['s3', 's4', 's5']);
  });

  it('daily keeps the newest of each of the n most recent days that have a snapshot', () => {
    // Two a day on days 0, 1, 3 (day 2 has none).
    const s = [
      snap('d0-late', NOW), snap('d0-early', NOW - 2 * H),
      snap('d1-late', NOW - D), snap('d1-early', NOW - D - 2 * H),
      snap('d3-late', NOW - 3 * D), snap('d3-early', NOW - 3 * D - 2 * H),
    ];
    const d = applyRetention(s, { ...none, keepDaily: 3 });
    expect(ids(d.keep.map((k) => k.snapshot))).toEqual(['d0-late', 'd1-late', 'd3-late']);
    expect(ids(d.forget)).toEqual(['d0-early', 'd1-early', 'd3-early']);
  });

  it('weekly uses Monday-to-Sunday weeks and monthly calendar months', () => {
    const mon = Date.UTC(2026, 10, 23, 9); // Monday
    const sun = Date.UTC(2026, 10, 22, 20); // Sunday before
    expect(periodsOf(mon).week).not.toBe(periodsOf(sun).week);
    expect(periodsOf(mon).week).toBe(periodsOf(NOW).week);
    expect(periodsOf(Date.UTC(2026, 10, 30, 23)).month).not.toBe(periodsOf(Date.UTC(2026, 11, 1, 0)).month);
    const s = [snap('wed', NOW), snap('mon', mon), snap('sun', sun), snap('oct', Date.UTC(2026, 9, 31, 12))];
    expect(ids(applyRetention(s, { ...none, keepWeekly: 2 }).keep.map((k) => k.snapshot))).toEqual(['wed', 'sun']);
    expect(ids(applyRetention(s, { ...none, keepMonthly: 2 }).keep.map((k) => k.snapshot))).toEqual(['wed', 'oct']);
  });

  it('counts days in the local time the caller gives, not UTC', () => {
    // 23:30 and 00:30 UTC: two UTC days, but one day in UTC−2 (21:30 and 22:30).
    const a = snap('a', Date.UTC(2026, 10, 24, 23, 30));
    const b = snap('b', Date.UTC(2026, 10, 25, 0, 30));
    expect(applyRetention([a, b], { ...none, keepDaily: 2 }).forget).toEqual([]);
    expect(ids(applyRetention([a, b], { ...none, keepDaily: 2 }, -120).forget)).toEqual(['a']);
    // A function of the instant (daylight-saving time) is used per snapshot.
    expect(ids(applyRetention([a, b], { ...none, keepDaily: 2 }, (ms) => (ms < Date.UTC(2026, 10, 25) ? 60 : 0)).forget)).toEqual(['a']);
    expect(() => applyRetention([a], none, 25 * 60)).toThrow(InvalidArgumentError);
  });

  it('gives the union of the rules with every reason', () => {
    const s = [snap('a', NOW), snap('b', NOW - H), snap('c', NOW - 40 * D)];
    const d = applyRetention(s, { keepLast: 2, keepDaily: 1, keepWeekly: 0, keepMonthly: 2 });
    expect(d.keep.map((k) => [k.snapshot.id, k.reasons])).toEqual([['a', ['newest', 'last', 'daily', 'monthly']], ['b', ['last']], ['c', ['monthly']]]);
    expect(describeReasons(d.keep[0]!.reasons, DEFAULT_RETENTION)).toBe('your newest backup · one of the last 10 · newest of its day · newest of its month');
  });

  it('orders ties by id and refuses bad input with a typed error', () => {
    const d = applyRetention([snap('b', NOW), snap('a', NOW)], none);
    expect(ids(d.keep.map((k) => k.snapshot))).toEqual(['a']);
    expect(() => applyRetention([snap('a', NOW), snap('a', NOW - 1)], none)).toThrow(InvalidArgumentError);
    expect(() => applyRetention([snap('a', Number.NaN)], none)).toThrow(InvalidArgumentError);
    for (const bad of [null, {}, { ...none, keepLast: -1 }, { ...none, keepDaily: 1.5 }, { ...none, keepWeekly: '3' }, { ...none, keepMonthly: 1001 }]) {
      expect(() => checkPolicy(bad)).toThrow(InvalidArgumentError);
    }
    expect(checkPolicy({ ...DEFAULT_RETENTION, extra: 1 })).toEqual(DEFAULT_RETENTION);
  });

  describe('properties', () => {
    const policy = fc.record({ keepLast: fc.nat(6), keepDaily: fc.nat(6), keepWeekly: fc.nat(4), keepMonthly: fc.nat(4) });
    const snapshots = fc.uniqueArray(
      fc.record({ id: fc.integer({ min: 0, max: 1e6 }).map((n) => n.toString(16).padStart(6, '0')), createdAt: fc.integer({ min: NOW - 400 * D, max: NOW }) }),
      { selector: (s) => s.id, maxLength: 40 },
    );
    const offset = fc.integer({ min: -14 * 60, max: 14 * 60 });

    it('keeps something whenever there is something, and always the newest', () => {
      fc.assert(fc.property(snapshots, policy, offset, (s, p, o) => {
        const d = applyRetention(s, p, o);
        expect(d.keep.length + d.forget.length).toBe(s.length);
        if (s.length === 0) return;
        const newest = Math.max(...s.map((x) => x.createdAt));
        expect(d.keep[0]!.snapshot.createdAt).toBe(newest);
        expect(d.keep[0]!.reasons).toContain('newest');
        expect(d.keep.every((k) => k.reasons.length > 0)).toBe(true);
      }));
    });

    it('is idempotent: applying the policy to what it kept forgets nothing more', () => {
      fc.assert(fc.property(snapshots, policy, offset, (s, p, o) => {
        const kept = applyRetention(s, p, o).keep.map((k) => k.snapshot);
        const again = applyRetention(kept, p, o);
        expect(again.forget).toEqual([]);
        expect(ids(again.keep.map((k) => k.snapshot))).toEqual(ids(kept));
      }));
    });

    it('keeps at least min(n, count) with keep last n, and a bigger policy never keeps less', () => {
      fc.assert(fc.property(snapshots, policy, fc.nat(3), (s, p, extra) => {
        const d = applyRetention(s, p);
        expect(d.keep.length).toBeGreaterThanOrEqual(Math.min(Math.max(1, p.keepLast), s.length));
        const bigger = applyRetention(s, { ...p, keepLast: p.keepLast + extra, keepDaily: p.keepDaily + extra });
        const keptBig = new Set(ids(bigger.keep.map((k) => k.snapshot)));
        for (const k of d.keep) expect(keptBig.has(k.snapshot.id)).toBe(true);
      }));
    });

    it('does not depend on the input order', () => {
      fc.assert(fc.property(snapshots, policy, (s, p) => {
        expect(applyRetention([...s].reverse(), p)).toEqual(applyRetention(s, p));
      }));
    });
  });
});
