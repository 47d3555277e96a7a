/**
 * Observed presence of a partner: how much of the time it was online while we could see it,
 * over a sliding window of hourly buckets (docs/DESIGN.md §7.2).
 *
 * We can only watch a partner while our own page runs and is connected, so each bucket holds two
 * numbers: seconds observed (we were online) and seconds the partner was linked during them. The
 * estimate is the linked fraction of observed time, blended with the availability the partner
 * promised in its agreement as a prior worth {@link PRIOR_WEIGHT_S} of observation, so a few
 * minutes of watching do not swing the coding either way.
 *
 * The record is compact (two arrays of at most {@link WINDOW_HOURS} integers) and plain data, so
 * it can be stored as is; {@link parsePresence} checks one read back.
 */
import { InvalidArgumentError, MalformedError } from '../errors.ts';

/** Length of the sliding window, hours (one week: weekday and weekend habits both count). */
export const WINDOW_HOURS = 24 * 7;
/** Weight of the promised availability, in seconds of observation (one day). */
export const PRIOR_WEIGHT_S = 24 * 3600;

const HOUR_MS = 3_600_000;

/** What is kept per partner. */
export interface PresenceRecord {
  readonly v: 1;
  /** Hour index (ms since the epoch / 1 h, floored) of the newest bucket. */
  readonly hour: number;
  /** Seconds observed per bucket, oldest first; the last is `hour`. */
  readonly observed: readonly number[];
  /** Seconds the partner was linked per bucket (≤ observed). */
  readonly online: readonly number[];
}

/** An empty record. */
export function emptyPresence(): PresenceRecord {
  return { v: 1, hour: 0, observed: [], online: [] };
}

/**
 * Adds the span [startMs, endMs) during which we were online and the partner was linked
 * (`online`) or not, split over hourly buckets; buckets older than the window are dropped. A span
 * before the newest bucket's hour only fills buckets still in the window; an empty or backwards
 * span changes nothing.
 */
export function addSpan(rec: PresenceRecord, startMs: number, endMs: number, online: boolean): PresenceRecord {
  if (!(endMs > startMs) || !Number.isFinite(startMs) || !Number.isFinite(endMs)) return rec;
  const lastHour = Math.floor((endMs - 1) / HOUR_MS);
  const newest = Math.max(rec.hour, lastHour);
  // Re-base to the newest hour, oldest first, within the window.
  const observed = new Array<number>(WINDOW_HOURS).fill(0);
  const linked = new Array<number>(WINDOW_HOURS).fill(0);
  const put = (hour: number, obs: number, on: number): void => {
    const idx = WINDOW_HOURS - 1 - (newest - hour);
    if (idx < 0 || idx >= WINDOW_HOURS) return;
    observed[idx]! += obs;
    linked[idx]! += on;
  };
  rec.observed.forEach((o, i) => put(rec.hour - (rec.observed.length - 1 - i), o, rec.online[i] ?? 0));
  for (let h = Math.floor(startMs / HOUR_MS); h <= lastHour; h++) {
    const from = Math.max(startMs, h * HOUR_MS);
    const to = Math.min(endMs, (h + 1) * HOUR_MS);
    const s = (to - from) / 1000;
    put(h, s, online ? s : 0);
  }
  // Trim leading empty buckets; round to whole seconds (an hour never holds more than 3600).
  let first = observed.findIndex((o) => o > 0);
  if (first < 0) first = WINDOW_HOURS - 1;
  const round = (x: number): number => Math.min(3600, Math.round(x));
  return {
    v: 1,
    hour: newest,
    observed: observed.slice(first).map(round),
    online: linked.slice(first).map((x, i) => Math.min(round(x), round(observed[first + i]!))),
  };
}

/** Seconds observed and seconds linked within the window ending at `nowMs`. */
export function presenceTotals(rec: PresenceRecord, nowMs: number): { observed: number; online: number } {
  const nowHour = Math.floor(nowMs / HOUR_MS);
  let observed = 0;
  let online = 0;
  rec.observed.forEach((o, i) => {
    const hour = rec.hour - (rec.observed.length - 1 - i);
    if (nowHour - hour >= WINDOW_HOURS || hour > nowHour) return;
    observed += o;
    online += rec.online[i] ?? 0;
  });
  return { observed, online };
}

/**
 * The partner's estimated availability (chance it is online at a moment we are), blending what
 * was observed in the window with the promised fraction `prior`.
 */
export function estimateAvailability(rec: PresenceRecord | null, nowMs: number, prior: number): number {
  if (!(prior >= 0 && prior <= 1)) throw new InvalidArgumentError('prior availability must be in [0, 1]');
  if (!rec) return prior;
  const t = presenceTotals(rec, nowMs);
  return (t.online + prior * PRIOR_WEIGHT_S) / (t.observed + PRIOR_WEIGHT_S);
}

/** Checks a stored record. Throws {@link MalformedError}. */
export function parsePresence(value: unknown): PresenceRecord {
  const r = value as Partial<PresenceRecord> | null;
  const ints = (a: unknown): a is number[] => Array.isArray(a) && a.length <= WINDOW_HOURS && a.every((x) => Number.isInteger(x) && x >= 0 && x <= 3600);
  if (!r || typeof r !== 'object' || r.v !== 1 || !Number.isInteger(r.hour) || (r.hour ?? -1) < 0 || !ints(r.observed) || !ints(r.online) || r.observed.length !== r.online.length) {
    throw new MalformedError('presence record', 'wrong shape');
  }
  if (r.online.some((x, i) => x > r.observed![i]!)) throw new MalformedError('presence record', 'online longer than observed');
  return { v: 1, hour: r.hour!, observed: [...r.observed], online: [...r.online] };
}
