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
import type { Availability } from '../agreement/terms.ts';
import { InvalidArgumentError } from '../errors.ts';
import type { PeerId } from '../ids.ts';
import { chooseCoding, commitThreshold, DEFAULT_LOSS_TARGET, LOSS_PROBABILITY } from '../policy/coding.ts';

/** A partner that can hold shards. */
export interface PlacementPartner {
  readonly peerId: PeerId;
  /** What the partner promised in the agreement. */
  readonly availability: Availability;
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
}

/**
 * Plans stripes over `partners` (in any order; duplicates are refused). Throws
 * {@link InvalidArgumentError} with no partner.
 */
export function planStripes(partners: readonly PlacementPartner[], target = DEFAULT_LOSS_TARGET): StripePlan {
  if (partners.length === 0) throw new InvalidArgumentError('Invite a partner first: a backup needs at least one partner to hold it.');
  const sorted = [...partners].sort((a, b) => (a.peerId < b.peerId ? -1 : a.peerId > b.peerId ? 1 : 0));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.peerId === sorted[i - 1]!.peerId) throw new InvalidArgumentError(`partner ${sorted[i]!.peerId} is listed twice`);
  }
  const coding = chooseCoding(sorted.map((p) => LOSS_PROBABILITY[p.availability]), target);
  if (sorted.length === 1) {
    return { k: 1, m: 1, holders: [sorted[0]!.peerId, null], threshold: 1, survivesLosing: 0, lossProbability: coding.lossProbability };
  }
  return {
    k: coding.k,
    m: coding.m,
    holders: sorted.map((p) => p.peerId),
    threshold: commitThreshold(coding.k, coding.m),
    survivesLosing: coding.m,
    lossProbability: coding.lossProbability,
  };
}

/** Plain words for the UI: what losing partners does to a backup made with `plan`. */
export function survivalText(plan: Pick<StripePlan, 'survivesLosing' | 'holders'>): string {
  const partners = plan.holders.filter((h) => h !== null).length;
  if (plan.survivesLosing === 0) return 'Only one partner holds this backup: losing that partner loses the backup.';
  const any = plan.survivesLosing === 1 ? 'any 1 partner' : `any ${plan.survivesLosing} partners`;
  return `Survives losing ${any} of your ${partners}.`;
}
