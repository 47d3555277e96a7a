/**
 * How one backup places its stripes: the (k, m) code from the partners' availability, which
 * partner gets which shard, and how many shards must be durable before a snapshot may be
 * committed (docs/DESIGN.md §7).
 *
 * - Every partner with a running agreement gets exactly one shard of every pack (shard i to the
 *   i-th partner in PeerId order), so a pack survives losing any m partners.
 * - With one partner there is no redundancy across people: the code is (1, 1) and only shard 0
 *   is stored (shard 1 is listed with no holder and never sent), so losing that partner loses the
 *   backup, which the UI says plainly. Reed-Solomon needs m ≥ 1, and keeping the unsent parity
 *   slot lets a later repair place a copy on a new partner without re-coding.
 * - Commit threshold: `commitThreshold(k, m)` = min(n, k + 1) of the shards that have a holder.
 */
import { AVAILABILITY, type Availability } from '../agreement/terms.ts';
import { InvalidArgumentError } from '../errors.ts';
import type { PeerId } from '../ids.ts';
import { chooseCoding, commitThreshold, evaluateCoding, LOSS_PROBABILITY, type CodingOptions } from '../policy/coding.ts';

/** A partner that can hold shards. */
export interface PlacementPartner {
  readonly peerId: PeerId;
  /** What the partner promised in the agreement. */
  readonly availability: Availability;
  /**
   * Estimated chance it is online at a random moment, from observed presence
   * (`estimateAvailability`); default the promised fraction.
   */
  readonly observed?: number;
}

/** Options of {@link planStripes}. */
export interface PlanOptions extends Pick<CodingOptions, 'lossTarget' | 'reachTarget'> {
  /**
   * A fixed (k, m) instead of the policy's, for tests only (set through the debug handle): it
   * must cover the partners exactly (k + m = n, k ≥ 1, m ≥ 1).
   */
  override?: { k: number; m: number } | null;
}

/** The placement plan of one backup. */
export interface StripePlan {
  /** Data shards per pack. */
  readonly k: number;
  /** Parity shards per pack. */
  readonly m: number;
  /** Holder of shard i (null: not stored anywhere, only with a single partner). */
  readonly holders: readonly (PeerId | null)[];
  /** Shards that must be durable at their holders before a snapshot using the pack is committed. */
  readonly threshold: number;
  /** Partners whose loss every fully delivered pack survives (0 with one partner). */
  readonly survivesLosing: number;
  /** Probability under the coding model that a pack is lost in one repair window. */
  readonly lossProbability: number;
  /** Probability under the model that k holders are online at a random moment. */
  readonly reachProbability: number;
}

/**
 * Plans stripes over `partners` (in any order; duplicates are refused). Throws
 * {@link InvalidArgumentError} with no partner.
 */
export function planStripes(partners: readonly PlacementPartner[], opts: PlanOptions = {}): StripePlan {
  if (partners.length === 0) throw new InvalidArgumentError('Invite a partner first: a backup needs at least one partner to hold it.');
  const sorted = [...partners].sort((a, b) => (a.peerId < b.peerId ? -1 : a.peerId > b.peerId ? 1 : 0));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.peerId === sorted[i - 1]!.peerId) throw new InvalidArgumentError(`partner ${sorted[i]!.peerId} is listed twice`);
  }
  const loss = sorted.map((p) => LOSS_PROBABILITY[p.availability]);
  const availability = sorted.map((p) => p.observed ?? AVAILABILITY[p.availability].fraction);
  let coding = chooseCoding(loss, {
    availability,
    ...(opts.lossTarget !== undefined ? { lossTarget: opts.lossTarget } : {}),
    ...(opts.reachTarget !== undefined ? { reachTarget: opts.reachTarget } : {}),
  });
  if (sorted.length === 1) {
    const { lossProbability, reachProbability } = coding;
    return { k: 1, m: 1, holders: [sorted[0]!.peerId, null], threshold: 1, survivesLosing: 0, lossProbability, reachProbability };
  }
  if (opts.override) {
    const o = opts.override;
    if (!Number.isInteger(o.k) || !Number.isInteger(o.m) || o.k < 1 || o.m < 1 || o.k + o.m !== sorted.length) {
      throw new InvalidArgumentError(`a fixed coding must have k ≥ 1, m ≥ 1 and k + m = ${sorted.length} partners`);
    }
    coding = evaluateCoding(o.k, loss, availability);
  }
  const { k, m, lossProbability, reachProbability } = coding;
  return { k, m, holders: sorted.map((p) => p.peerId), threshold: commitThreshold(k, m), survivesLosing: m, lossProbability, reachProbability };
}

/** Plain words for the UI: what losing partners does to a backup made with `plan`. */
export function survivalText(plan: Pick<StripePlan, 'survivesLosing' | 'holders'>): string {
  const partners = plan.holders.filter((h) => h !== null).length;
  if (plan.survivesLosing === 0) return 'Only one partner holds this backup: losing that partner loses the backup.';
  const any = plan.survivesLosing === 1 ? 'any 1 partner' : `any ${plan.survivesLosing} partners`;
  return `Survives losing ${any} of your ${partners}.`;
}
