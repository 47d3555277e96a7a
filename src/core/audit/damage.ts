/**
 * When a holder's own damage reports count against it (docs/DESIGN.md §8 "Holder self-check").
 *
 * A holder that finds a shard damaged says so (`holder.damage`); the owner then neither audits that
 * shard (an honest report must not be punished as if it had been caught) nor waits for an audit to
 * rebuild it, and may give the rebuilt shard back to the same holder. Without a limit, a holder
 * that drops our data and reports every shard "damaged" would never fail an audit and would have
 * us re-send everything, again and again. Honest storage rots rarely, so reports are tolerated up
 * to a small number of shards, or a small share of what the holder keeps for us, within a window;
 * beyond that the holder is treated like a failing one: every shard it holds is rebuilt elsewhere.
 */

/** How long a damage report counts. */
export const DAMAGE_WINDOW_MS = 30 * 24 * 60 * 60_000;
/** Shards reported damaged within the window that are always tolerated. */
export const DAMAGE_TOLERATED_SHARDS = 4;
/** Share of the shards a holder keeps for us that may be reported damaged within the window. */
export const DAMAGE_TOLERATED_SHARE = 0.05;

/** One received report: when, and how many shards it named. */
export interface DamageLogItem {
  readonly at: number;
  readonly count: number;
}

/** The verdict on one holder's reports. */
export interface DamageVerdict {
  /** Shards reported damaged within the window. */
  readonly reported: number;
  /** The most tolerated for what it holds. */
  readonly limit: number;
  /** More reported than tolerated: treat the holder as failing. */
  readonly unreliable: boolean;
}

/** Judges `log` (a holder's reports) against the `held` shards it keeps for us, at `now`. */
export function damageVerdict(log: readonly DamageLogItem[], held: number, now: number): DamageVerdict {
  let reported = 0;
  for (const r of log) {
    if (r.at > now - DAMAGE_WINDOW_MS && r.at <= now && Number.isFinite(r.count) && r.count > 0) reported += r.count;
  }
  const limit = Math.max(DAMAGE_TOLERATED_SHARDS, Math.floor(DAMAGE_TOLERATED_SHARE * Math.max(0, held)));
  return { reported, limit, unreliable: reported > limit };
}

/** True when `log` could make a holder unreliable whatever it holds (cheap pre-check). */
export function mayBeUnreliable(log: readonly DamageLogItem[], now: number): boolean {
  return damageVerdict(log, 0, now).unreliable;
}
