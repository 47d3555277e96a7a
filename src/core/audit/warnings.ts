/**
 * Warnings before a drop (docs/DESIGN.md §8 "Warnings before a drop"): which warning, if any, a
 * partner's health calls for now, and — given what was last acted on — whether the owner must be
 * notified and the partner told. Pure: the service worker and the page only store the memo, show
 * the notification and carry the message.
 *
 * Levels, from {@link healthState} and {@link warningDue}:
 * - `ok`: healthy, or offline for less than half the grace period (no warning);
 * - `unreachable`: offline for more than half the grace period;
 * - `failing`: the last answered audit was wrong or missing, or the score is below 0.8;
 * - `dropped`: the partner is no longer used.
 *
 * A change of level is one "episode". Entering `unreachable`, `failing` or `dropped` notifies the
 * owner once and queues one message to the partner; staying on a level does neither (however many
 * audits fail meanwhile); going back to `ok` queues an all-clear for the partner, with no
 * notification.
 */
import { canonicalJson } from '../agreement/canonical.ts';
import { toBase32, utf8 } from '../encoding/bytes.ts';
import { verifyTagged } from '../keys/identity.ts';
import { DROP_AFTER_FAILURES, healthState, type PartnerHealth } from './health.ts';

/** How much trouble a partnership is in, as far as warnings go. */
export type WarningLevel = 'ok' | 'unreachable' | 'failing' | 'dropped';

/** The warning due now for one partner. */
export interface PartnerWarning {
  level: Exclude<WarningLevel, 'ok'>;
  /** Unix ms since when: first unreachable audit, the failed audit, or the drop. */
  since: number;
  /**
   * Unix ms when the partner will be dropped if nothing changes: the end of the grace period
   * offline; for failing, an estimate — the time the remaining failures in a row would take at
   * the agreement's audit interval. Null once dropped.
   */
  dropAt: number | null;
}

/** What was last acted on for one partner (kept by the adapter, e.g. `kv/warn/state/<peerId>`). */
export interface WarningMemo {
  level: WarningLevel;
  /** `since` of the episode acted on (null for `ok`). */
  since: number | null;
}

/** The message the owner sends the partner about its health (see `health.warning`). */
export interface HealthNotice {
  level: WarningLevel;
  since: number | null;
  dropAt: number | null;
  /** Unix ms the owner decided it; a holder keeps only the newest notice per owner. */
  at: number;
}

/** The outcome of {@link decideWarning}. */
export interface WarningDecision {
  memo: WarningMemo;
  /** Show the owner a system notification (a new episode of trouble). */
  notify: boolean;
  /** Tell the partner (a new episode, or the all-clear after one); null when nothing changed. */
  send: HealthNotice | null;
}

/** The warning due for a partner at `now`, or null. */
export function partnerWarning(h: PartnerHealth, now: number, graceS: number, auditIntervalS: number): PartnerWarning | null {
  const state = healthState(h, now, graceS);
  if (state === 'dropped') {
    // Dropped for being offline past the grace period, or at the audit that failed last.
    const since = h.unreachableSince !== null && now - h.unreachableSince > graceS * 1000 ? h.unreachableSince + graceS * 1000 : (h.lastAuditAt ?? now);
    return { level: 'dropped', since, dropAt: null };
  }
  if (state === 'failing') {
    const since = h.lastAuditAt ?? now;
    const remaining = Math.max(1, DROP_AFTER_FAILURES - h.consecutiveFailures);
    return { level: 'failing', since, dropAt: since + remaining * auditIntervalS * 1000 };
  }
  if (state === 'unreachable' && now - h.unreachableSince! > (graceS * 1000) / 2) {
    return { level: 'unreachable', since: h.unreachableSince!, dropAt: h.unreachableSince! + graceS * 1000 };
  }
  return null;
}

/**
 * Decides what to do about `current` given the `previous` memo (undefined: never acted on, the
 * same as `ok`). Once per level change: the same level again never notifies nor sends.
 */
export function decideWarning(previous: WarningMemo | undefined, current: PartnerWarning | null, now: number): WarningDecision {
  const before = previous?.level ?? 'ok';
  if (current === null) {
    if (before === 'ok') return { memo: { level: 'ok', since: null }, notify: false, send: null };
    return { memo: { level: 'ok', since: null }, notify: false, send: { level: 'ok', since: null, dropAt: null, at: now } };
  }
  if (current.level === before) return { memo: previous!, notify: false, send: null };
  return {
    memo: { level: current.level, since: current.since },
    notify: true,
    send: { level: current.level, since: current.since, dropAt: current.dropAt, at: now },
  };
}

/** Signature tag of a {@link HealthNotice} (FORMAT). */
export const HEALTH_NOTICE_TAG = 'backpact/v1/health-warning';

/**
 * The bytes an owner signs for a notice to `holderKey` (tagged {@link HEALTH_NOTICE_TAG}):
 * canonical JSON of the notice and the holder's key, so a notice cannot be replayed to another
 * partner.
 */
export function healthNoticeBytes(holderKey: Uint8Array, n: HealthNotice): Uint8Array {
  return utf8(canonicalJson({ v: 1, holder: toBase32(holderKey), level: n.level, since: n.since, dropAt: n.dropAt, at: n.at }));
}

/** True when `sig` is the owner's signature of notice `n` to `holderKey`. */
export function verifyHealthNotice(ownerKey: Uint8Array, holderKey: Uint8Array, n: HealthNotice, sig: Uint8Array): boolean {
  return verifyTagged(ownerKey, HEALTH_NOTICE_TAG, healthNoticeBytes(holderKey, n), sig);
}
