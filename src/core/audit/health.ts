/**
 * Partner health from audit results (docs/DESIGN.md §8).
 *
 * - Reputation: a Beta(α, β) posterior of "answers correctly", starting at Beta(9, 1), where each
 *   passed audit adds 1 to α and each failed one adds 1 to β, both decayed by 0.98 per recorded
 *   result so old behaviour fades (an effective memory of ~50 audits). The score is its mean
 *   α / (α + β).
 * - Being offline is not failure: an audit that could not be delivered changes nothing but
 *   `unreachableSince`, until the agreement's grace period has run out.
 * - States: `healthy`; `unreachable` (offline, inside the grace period); `failing` (the last audit
 *   was answered wrongly or not at all while reachable, or the score is below 0.8); `dropped`
 *   (offline beyond the grace period, or 3 failed audits in a row, or the score below 0.5).
 * - A warning is due (both sides) when a partner is `failing`, or offline for more than half the
 *   grace period: before it is dropped.
 */

/**
 * Prior of the reputation: Beta(9, 1), i.e. a new partner is trusted like one with nine passes and
 * one failure behind it (mean 0.9). With a flat Beta(1, 1) prior a brand-new partner would start
 * below the failing threshold.
 */
export const PRIOR_PASSES = 9;
export const PRIOR_FAILURES = 1;
/** Decay applied to the Beta counts at each result. */
export const SCORE_DECAY = 0.98;
/** Below this score a partner is failing. */
export const FAILING_SCORE = 0.8;
/** Below this score a partner is dropped. */
export const DROP_SCORE = 0.5;
/** Consecutive failed audits that drop a partner. */
export const DROP_AFTER_FAILURES = 3;

/** The recorded health of one partner. */
export interface PartnerHealth {
  alpha: number;
  beta: number;
  consecutiveFailures: number;
  /** Unix ms of the last audit answered (right or wrong); null before any. */
  lastAuditAt: number | null;
  lastResult: 'pass' | 'fail' | null;
  /** Unix ms since when the partner could not be reached; null while reachable. */
  unreachableSince: number | null;
}

/** A partner's state as the UI shows it. */
export type HealthState = 'healthy' | 'unreachable' | 'failing' | 'dropped';

/** Health before any audit. */
export function initialHealth(): PartnerHealth {
  return { alpha: PRIOR_PASSES, beta: PRIOR_FAILURES, consecutiveFailures: 0, lastAuditAt: null, lastResult: null, unreachableSince: null };
}

/** The reputation score in [0, 1]. */
export function score(h: PartnerHealth): number {
  return h.alpha / (h.alpha + h.beta);
}

/** Records an audit the partner answered: `passed` says whether every leaf verified. */
export function recordAudit(h: PartnerHealth, passed: boolean, now: number): PartnerHealth {
  return {
    alpha: h.alpha * SCORE_DECAY + (passed ? 1 : 0),
    beta: h.beta * SCORE_DECAY + (passed ? 0 : 1),
    consecutiveFailures: passed ? 0 : h.consecutiveFailures + 1,
    lastAuditAt: now,
    lastResult: passed ? 'pass' : 'fail',
    unreachableSince: null,
  };
}

/** Records that the partner could not be reached for an audit. Not a failure. */
export function recordUnreachable(h: PartnerHealth, now: number): PartnerHealth {
  return { ...h, unreachableSince: h.unreachableSince ?? now };
}

/** Records that the partner is reachable again (a link opened). */
export function recordReachable(h: PartnerHealth): PartnerHealth {
  return h.unreachableSince === null ? h : { ...h, unreachableSince: null };
}

/** The state at `now` under an agreement with grace period `graceS`. */
export function healthState(h: PartnerHealth, now: number, graceS: number): HealthState {
  if (h.consecutiveFailures >= DROP_AFTER_FAILURES || score(h) < DROP_SCORE) return 'dropped';
  if (h.unreachableSince !== null && now - h.unreachableSince > graceS * 1000) return 'dropped';
  if (h.lastResult === 'fail' || score(h) < FAILING_SCORE) return 'failing';
  if (h.unreachableSince !== null) return 'unreachable';
  return 'healthy';
}

/** True when both sides should be warned that the partnership is at risk. */
export function warningDue(h: PartnerHealth, now: number, graceS: number): boolean {
  const state = healthState(h, now, graceS);
  if (state === 'failing') return true;
  return state === 'unreachable' && now - h.unreachableSince! > (graceS * 1000) / 2;
}
