import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, MalformedError } from '../errors.ts';
import {
  DEFAULT_SCHEDULE, MAX_TIMER_MS, RETRY_BASE_MS, SCHEDULE_INTERVAL_MS, dueAt, nextDue, nextRun, parseFolderMeta, parseSchedule, retryAt, timerDelay,
  type FolderMeta, type FolderTiming,
} from './schedule.ts';

const H = 3_600_000;
const D = 24 * H;
const T0 = Date.UTC(2026, 10, 25, 18, 0, 0);

describe('nextRun', () => {
  it('is due at once before any run', () => {
    expect(nextRun('daily', null, T0)).toBe(T0);
  });

  it('is one interval after the last run', () => {
    expect(nextRun('daily', T0, T0 + H)).toBe(T0 + D);
    expect(nextRun('every-6h', T0, T0 + H)).toBe(T0 + 6 * H);
    expect(nextRun('weekly', T0, T0 + H)).toBe(T0 + 7 * D);
    expect(DEFAULT_SCHEDULE).toBe('daily');
  });

  it('collapses runs missed while the app was closed for days into one run now', () => {
    const now = T0 + 5 * D + 3 * H;
    expect(nextRun('daily', T0, now)).toBe(now);
    // After that one run (started now), the next is a full interval later — not a catch-up series.
    expect(nextRun('daily', now, now + 1)).toBe(now + D);
    // Counting runs a simulated week of hourly wake-ups would start after a 5-day gap: one per day.
    let last = T0;
    let runs = 0;
    for (let t = now; t < now + 7 * D; t += H) {
      if (nextRun('daily', last, t) <= t) {
        runs++;
        last = t;
      }
    }
    expect(runs).toBe(7);
  });

  it('treats a last run in the future (clock set back) as now', () => {
    expect(nextRun('daily', T0 + 10 * D, T0)).toBe(T0 + D);
  });

  it('is never before now', () => {
    for (const s of ['every-6h', 'daily', 'weekly'] as const) {
      for (const last of [null, T0 - 30 * D, T0 - 1, T0, T0 + 99 * D]) expect(nextRun(s, last, T0)).toBeGreaterThanOrEqual(T0);
    }
  });
});

describe('retries and the next due folder', () => {
  const base: FolderTiming = { id: 'a'.repeat(32), schedule: 'daily', lastRun: T0, failures: 0, lastFailure: null, interrupted: false };

  it('backs off after failures, capped at the interval', () => {
    expect(retryAt('daily', T0, 1)).toBe(T0 + RETRY_BASE_MS);
    expect(retryAt('daily', T0, 2)).toBe(T0 + 2 * RETRY_BASE_MS);
    expect(retryAt('daily', T0, 3)).toBe(T0 + 4 * RETRY_BASE_MS);
    expect(retryAt('every-6h', T0, 50)).toBe(T0 + 6 * H);
    expect(retryAt('weekly', T0, 1000)).toBe(T0 + 7 * D);
  });

  it('a failing folder whose last success is long ago does not run again at once', () => {
    const f = { ...base, lastRun: T0 - 9 * D, failures: 1, lastFailure: T0 };
    expect(dueAt(f, T0 + 1)).toBe(T0 + RETRY_BASE_MS);
    expect(dueAt({ ...f, lastRun: null }, T0 + 1)).toBe(T0 + RETRY_BASE_MS);
  });

  it('an interrupted run resumes at once', () => {
    expect(dueAt({ ...base, interrupted: true }, T0 + H)).toBe(T0 + H);
  });

  it('picks the folder due first, ties by id', () => {
    const a = { ...base, id: 'a'.repeat(32), lastRun: T0 };
    const b = { ...base, id: 'b'.repeat(32), lastRun: T0 - H };
    expect(nextDue([a, b], T0 + H)).toEqual({ id: b.id, at: T0 + D - H });
    const c = { ...base, id: 'c'.repeat(32), lastRun: null };
    const d = { ...base, id: '0'.repeat(32), lastRun: null };
    expect(nextDue([a, c, d, b], T0 + H)).toEqual({ id: d.id, at: T0 + H });
    expect(nextDue([], T0)).toBeNull();
  });

  it('sets timers no longer than an hour and never negative', () => {
    expect(timerDelay(T0 + 5 * D, T0)).toBe(MAX_TIMER_MS);
    expect(timerDelay(T0 - 5, T0)).toBe(0);
    expect(timerDelay(T0 + 1234, T0)).toBe(1234);
  });
});

describe('parsing', () => {
  const good: FolderMeta = {
    v: 1, id: '0123456789abcdef0123456789abcdef', name: 'Photos', schedule: 'daily', addedAt: T0, lastRun: null, lastResult: null,
    failures: 0, lastFailure: null, running: null,
  };

  it('accepts schedules and refuses others', () => {
    expect(parseSchedule('weekly')).toBe('weekly');
    expect(() => parseSchedule('hourly')).toThrow(InvalidArgumentError);
    expect(Object.keys(SCHEDULE_INTERVAL_MS).sort()).toEqual(['daily', 'every-6h', 'weekly']);
  });

  it('round-trips a good record', () => {
    expect(parseFolderMeta(good)).toEqual(good);
    const ran = { ...good, lastRun: T0, lastResult: { at: T0 + 5, ok: true, message: 'Backed up.', snapshotId: 'ab'.repeat(32) }, running: T0 + 9 };
    expect(parseFolderMeta({ ...ran, handle: {} })).toEqual(ran);
  });

  it.each([
    ['not an object', null],
    ['version', { ...good, v: 2 }],
    ['id', { ...good, id: 'XYZ' }],
    ['name', { ...good, name: 'a/b' }],
    ['name', { ...good, name: '' }],
    ['schedule', { ...good, schedule: 'hourly' }],
    ['addedAt', { ...good, addedAt: -1 }],
    ['lastRun', { ...good, lastRun: 'yesterday' }],
    ['running', { ...good, running: Number.NaN }],
    ['failures', { ...good, failures: 1.5 }],
    ['lastResult', { ...good, lastResult: { at: T0, ok: 'yes', message: '', snapshotId: null } }],
  ])('refuses a bad %s', (reason, value) => {
    expect(() => parseFolderMeta(value)).toThrow(MalformedError);
    expect(() => parseFolderMeta(value)).toThrow(reason);
  });
});
