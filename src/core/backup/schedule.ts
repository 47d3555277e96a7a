/**
 * Periodic backups of remembered folders (docs/DESIGN.md §7.11): how often, when the next run is
 * due, which folder goes first, and the plain fields of the record kept per folder. Pure: the
 * caller passes the time.
 */
import { InvalidArgumentError, MalformedError } from '../errors.ts';

/** How often a remembered folder is backed up. */
export type FolderSchedule = 'every-6h' | 'daily' | 'weekly';

/** The schedule of a newly remembered folder. */
export const DEFAULT_SCHEDULE: FolderSchedule = 'daily';

const HOUR = 3_600_000;

/** Interval of each schedule, ms. */
export const SCHEDULE_INTERVAL_MS: Readonly<Record<FolderSchedule, number>> = {
  'every-6h': 6 * HOUR,
  daily: 24 * HOUR,
  weekly: 7 * 24 * HOUR,
};

/** Choices in the order the UI lists them, with their plain-words labels. */
export const SCHEDULE_CHOICES: readonly { value: FolderSchedule; label: string }[] = [
  { value: 'every-6h', label: 'Every 6 hours' },
  { value: 'daily', label: 'Every day' },
  { value: 'weekly', label: 'Every week' },
];

/** Validates a schedule read from storage or a form. Throws {@link InvalidArgumentError}. */
export function parseSchedule(value: unknown): FolderSchedule {
  if (value === 'every-6h' || value === 'daily' || value === 'weekly') return value;
  throw new InvalidArgumentError(`unknown backup schedule ${JSON.stringify(value)}`);
}

/**
 * When the next run is due: at once (`now`) before any run, one interval after the last run, and
 * never earlier than `now` — runs missed while the app was closed collapse into one run now, not a
 * catch-up series. A last run in the future (the clock was set back) counts as if it were now, so
 * the folder is not left unbacked-up until the clock catches up.
 */
export function nextRun(schedule: FolderSchedule, lastRun: number | null, now: number): number {
  if (lastRun === null) return now;
  const interval = SCHEDULE_INTERVAL_MS[schedule];
  return Math.max(now, Math.min(lastRun, now) + interval);
}

/** First wait after a failed run, ms; it doubles with each failure in a row. */
export const RETRY_BASE_MS = 15 * 60_000;

/**
 * When to try again after `failures` (≥ 1) failed runs in a row, the last at `failedAt`: 15 min,
 * 30 min, 1 h … but never later than the schedule's own interval after the failure.
 */
export function retryAt(schedule: FolderSchedule, failedAt: number, failures: number): number {
  const n = Math.max(1, Math.floor(failures));
  const wait = Math.min(RETRY_BASE_MS * 2 ** Math.min(n - 1, 20), SCHEDULE_INTERVAL_MS[schedule]);
  return failedAt + wait;
}

/** What the scheduler needs to know about one folder. */
export interface FolderTiming {
  id: string;
  schedule: FolderSchedule;
  /** Start of the last successful run (ms), or null. */
  lastRun: number | null;
  /** Failed runs since the last success, and when the last one ended. */
  failures: number;
  lastFailure: number | null;
  /** A run was started and never finished (the page closed): resume at once. */
  interrupted: boolean;
}

/** When `f` is due: an interrupted run at once, a failing folder at its retry time, else {@link nextRun}; never before `now`. */
export function dueAt(f: FolderTiming, now: number): number {
  if (f.interrupted) return now;
  // After a failure the retry time governs (a last success long ago must not make it spin).
  if (f.failures > 0 && f.lastFailure !== null) return Math.max(now, retryAt(f.schedule, f.lastFailure, f.failures));
  return nextRun(f.schedule, f.lastRun, now);
}

/**
 * The folder to run next among those allowed to run now: the one due first (ties: by id, so the
 * order is stable), with its due time; null when there is none.
 */
export function nextDue(folders: readonly FolderTiming[], now: number): { id: string; at: number } | null {
  let best: { id: string; at: number } | null = null;
  for (const f of folders) {
    const at = dueAt(f, now);
    if (!best || at < best.at || (at === best.at && f.id < best.id)) best = { id: f.id, at };
  }
  return best;
}

/** Longest a page timer is set for, ms: longer delays are re-checked (setTimeout overflows past 2^31 − 1). */
export const MAX_TIMER_MS = HOUR;

/** The delay to set a timer for a run due at `at`. */
export function timerDelay(at: number, now: number): number {
  return Math.min(MAX_TIMER_MS, Math.max(0, at - now));
}

/** How the last run of a folder ended. */
export interface FolderResult {
  /** When it ended, ms. */
  at: number;
  ok: boolean;
  /** Plain words: "Backed up 12 files." or what went wrong. */
  message: string;
  snapshotId: string | null;
}

/**
 * The plain fields kept for a remembered folder under `kv['folders/<id>']` (next to the folder's
 * handle, which only the browser can check). Version 1.
 */
export interface FolderMeta {
  v: 1;
  /** 32 lower-case hex characters, random. */
  id: string;
  /** The folder's name as the browser gives it: the first segment of every path in its snapshots. */
  name: string;
  schedule: FolderSchedule;
  addedAt: number;
  /** Start of the last successful run, ms. */
  lastRun: number | null;
  lastResult: FolderResult | null;
  /** Failed runs since the last success, and the end of the last one. */
  failures: number;
  lastFailure: number | null;
  /** Start of a run in progress (set before it starts, cleared when it ends); a reload resumes it. */
  running: number | null;
}

/** Validates a folder id. Throws {@link InvalidArgumentError}. */
export function checkFolderId(id: unknown): string {
  if (typeof id !== 'string' || !/^[0-9a-f]{32}$/.test(id)) throw new InvalidArgumentError(`not a folder id: ${JSON.stringify(id)}`);
  return id;
}

const isTime = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0;

/**
 * Checks the plain fields of a stored folder record; throws {@link MalformedError} naming the
 * first bad field (a damaged record is shown as such and can be forgotten; it is never run).
 */
export function parseFolderMeta(x: unknown): FolderMeta {
  const bad = (reason: string): never => {
    throw new MalformedError('folder-record', reason);
  };
  if (typeof x !== 'object' || x === null) return bad('not an object');
  const r = x as Record<string, unknown>;
  if (r.v !== 1) return bad(`version ${JSON.stringify(r.v)}`);
  if (typeof r.id !== 'string' || !/^[0-9a-f]{32}$/.test(r.id)) return bad('id');
  if (typeof r.name !== 'string' || r.name.length === 0 || r.name.includes('/') || r.name.includes('\0') || r.name === '.' || r.name === '..') return bad('name');
  let schedule: FolderSchedule;
  try {
    schedule = parseSchedule(r.schedule);
  } catch {
    return bad('schedule');
  }
  if (!isTime(r.addedAt)) return bad('addedAt');
  if (r.lastRun !== null && !isTime(r.lastRun)) return bad('lastRun');
  if (r.lastFailure !== null && !isTime(r.lastFailure)) return bad('lastFailure');
  if (r.running !== null && !isTime(r.running)) return bad('running');
  if (typeof r.failures !== 'number' || !Number.isInteger(r.failures) || r.failures < 0) return bad('failures');
  let lastResult: FolderResult | null = null;
  if (r.lastResult !== null) {
    const l = r.lastResult as Record<string, unknown> | undefined;
    if (typeof l !== 'object' || l === null || !isTime(l.at) || typeof l.ok !== 'boolean' || typeof l.message !== 'string' || (l.snapshotId !== null && typeof l.snapshotId !== 'string')) {
      return bad('lastResult');
    }
    lastResult = { at: l.at, ok: l.ok, message: l.message, snapshotId: l.snapshotId as string | null };
  }
  return {
    v: 1, id: r.id, name: r.name, schedule, addedAt: r.addedAt, lastRun: r.lastRun as number | null, lastResult,
    failures: r.failures, lastFailure: r.lastFailure as number | null, running: r.running as number | null,
  };
}

/** The timing view of a record, for {@link nextDue}. */
export function timingOf(m: FolderMeta): FolderTiming {
  return { id: m.id, schedule: m.schedule, lastRun: m.lastRun, failures: m.failures, lastFailure: m.lastFailure, interrupted: m.running !== null };
}
