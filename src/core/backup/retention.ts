/**
 * Retention: which snapshots to keep and which to forget (docs/DESIGN.md §7.12).
 *
 * Semantics follow restic's `forget`:
 * - `keepLast` n keeps the n newest snapshots;
 * - `keepDaily` / `keepWeekly` / `keepMonthly` n keep, for each of the n most recent days / weeks /
 *   months **that have a snapshot**, the newest snapshot of that period;
 * - a snapshot is kept when any rule keeps it (the union), and the newest snapshot is always kept,
 *   whatever the policy (so a backup is never left without a snapshot).
 *
 * Periods are calendar periods in the person's local time: the caller passes the offset from UTC
 * in minutes, either a constant or a function of the instant (so daylight-saving changes put
 * each snapshot in the day its owner saw on the clock). Without it, UTC. Weeks start on Monday
 * (ISO 8601). The result is deterministic: snapshots are ordered newest first, ties by id.
 *
 * Applying a policy to the snapshots it kept forgets nothing more (it is idempotent): each period
 * rule keeps the newest snapshot of the n most recent periods, and forgetting the others changes
 * neither which periods those are nor which snapshot is newest in them.
 */
import { InvalidArgumentError } from '../errors.ts';

/** How much history to keep. Every count is a whole number from 0 to {@link MAX_KEEP}. */
export interface RetentionPolicy {
  /** The n newest snapshots. */
  keepLast: number;
  /** The newest snapshot of each of the n most recent days with a snapshot. */
  keepDaily: number;
  /** … of each of the n most recent weeks (Monday to Sunday) with a snapshot. */
  keepWeekly: number;
  /** … of each of the n most recent calendar months with a snapshot. */
  keepMonthly: number;
}

/** The policy a new device starts with. */
export const DEFAULT_RETENTION: RetentionPolicy = Object.freeze({ keepLast: 10, keepDaily: 7, keepWeekly: 4, keepMonthly: 12 });

/** Largest count a rule accepts (more than any root record lists). */
export const MAX_KEEP = 1000;

/** Why a snapshot is kept. */
export type KeepReason = 'newest' | 'last' | 'daily' | 'weekly' | 'monthly';

/** What retention needs to know of a snapshot. */
export interface Dated {
  readonly id: string;
  /** Unix ms. */
  readonly createdAt: number;
}

/** A kept snapshot and every rule that keeps it (in the order of {@link KeepReason}). */
export interface Kept<T> {
  snapshot: T;
  reasons: KeepReason[];
}

/** The outcome: both lists newest first. */
export interface RetentionDecision<T> {
  keep: Kept<T>[];
  forget: T[];
}

/** Offset of local time from UTC in minutes (east positive, e.g. +60 for Paris in winter). */
export type UtcOffset = number | ((ms: number) => number);

const DAY_MS = 86_400_000;
const REASON_ORDER: readonly KeepReason[] = ['newest', 'last', 'daily', 'weekly', 'monthly'];

/** Validates a policy from storage or a form. Throws {@link InvalidArgumentError}. */
export function checkPolicy(x: unknown): RetentionPolicy {
  if (typeof x !== 'object' || x === null) throw new InvalidArgumentError('a retention policy must be an object');
  const o = x as Record<string, unknown>;
  const count = (key: keyof RetentionPolicy): number => {
    const v = o[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_KEEP) throw new InvalidArgumentError(`${key} must be a whole number from 0 to ${MAX_KEEP}`);
    return v;
  };
  return { keepLast: count('keepLast'), keepDaily: count('keepDaily'), keepWeekly: count('keepWeekly'), keepMonthly: count('keepMonthly') };
}

function offsetAt(offset: UtcOffset, ms: number): number {
  const v = typeof offset === 'number' ? offset : offset(ms);
  if (!Number.isFinite(v) || Math.abs(v) > 24 * 60) throw new InvalidArgumentError('a UTC offset must be at most 24 hours');
  return v;
}

/** Calendar period keys of an instant in local time: day number, Monday of its week, month number. */
export function periodsOf(ms: number, offset: UtcOffset = 0): { day: number; week: number; month: number } {
  const local = ms + offsetAt(offset, ms) * 60_000;
  const day = Math.floor(local / DAY_MS);
  // 1970-01-01 was a Thursday: (day + 3) mod 7 is 0 on Mondays.
  const week = day - (((day + 3) % 7) + 7) % 7;
  const d = new Date(day * DAY_MS);
  const month = d.getUTCFullYear() * 12 + d.getUTCMonth();
  return { day, week, month };
}

/**
 * Applies `policy` to `snapshots` (any order). Throws {@link InvalidArgumentError} for an invalid
 * policy, a duplicate id or a createdAt that is not a finite number.
 */
export function applyRetention<T extends Dated>(snapshots: readonly T[], policy: RetentionPolicy, offset: UtcOffset = 0): RetentionDecision<T> {
  const p = checkPolicy(policy);
  const seen = new Set<string>();
  for (const s of snapshots) {
    if (seen.has(s.id)) throw new InvalidArgumentError(`snapshot ${s.id} is listed twice`);
    if (!Number.isFinite(s.createdAt)) throw new InvalidArgumentError(`snapshot ${s.id} has no valid date`);
    seen.add(s.id);
  }
  const sorted = [...snapshots].sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const reasons = new Map<string, Set<KeepReason>>(sorted.map((s) => [s.id, new Set()]));
  const periods = sorted.map((s) => periodsOf(s.createdAt, offset));
  if (sorted.length > 0) reasons.get(sorted[0]!.id)!.add('newest');
  for (let i = 0; i < Math.min(p.keepLast, sorted.length); i++) reasons.get(sorted[i]!.id)!.add('last');
  const buckets: [KeepReason, number, 'day' | 'week' | 'month'][] = [['daily', p.keepDaily, 'day'], ['weekly', p.keepWeekly, 'week'], ['monthly', p.keepMonthly, 'month']];
  for (const [reason, n, key] of buckets) {
    let kept = 0;
    let last: number | null = null;
    for (let i = 0; i < sorted.length && kept < n; i++) {
      const period = periods[i]![key];
      if (period === last) continue;
      last = period;
      kept++;
      reasons.get(sorted[i]!.id)!.add(reason);
    }
  }
  const keep: Kept<T>[] = [];
  const forget: T[] = [];
  for (const s of sorted) {
    const r = reasons.get(s.id)!;
    if (r.size === 0) forget.push(s);
    else keep.push({ snapshot: s, reasons: REASON_ORDER.filter((x) => r.has(x)) });
  }
  return { keep, forget };
}

/** Plain words for why a snapshot is kept ("newest · one of the last 10 · newest of its day"). */
export function describeReasons(reasons: readonly KeepReason[], policy: RetentionPolicy): string {
  const words: Record<KeepReason, string> = {
    newest: 'your newest backup',
    last: `one of the last ${policy.keepLast}`,
    daily: 'newest of its day',
    weekly: 'newest of its week',
    monthly: 'newest of its month',
  };
  return reasons.map((r) => words[r]).join(' · ');
}
