/**
 * Choosing partners among strangers in the open pool, by predetermined criteria that the app
 * shows to the user (docs/DESIGN.md §6). Every candidate gets a verdict with the reasons, in plain
 * words, so the user can see why someone was chosen or passed over.
 */

/** What the pool (the signaling server plus the candidate's own listing) says about a candidate. */
export interface PoolCandidate {
  /** The candidate's peer id. */
  id: string;
  /** Display name from the listing. */
  name: string;
  /** Bytes the candidate offers to hold for others. */
  offeredBytes: number;
  /** Fraction of the last 7 days the server saw the candidate online (0–1), as the server observed it. */
  uptime7d: number;
  /** Coarse network token from the server (same token ≈ same network, so likely to fail together). */
  networkToken: string;
  /** Round-trip time measured by this device, in ms; null when it could not be measured. */
  rttMs: number | null;
  /**
   * Reciprocity balance from the listing: bytes the candidate holds for others minus bytes others
   * hold for it. Negative means it takes more than it gives.
   */
  balanceBytes: number;
}

/** The stated criteria. */
export interface PoolCriteria {
  /** The quantized quota wanted from each new partner (and offered to it). */
  wantedBytes: number;
  /** Minimum observed uptime over 7 days. */
  minUptime: number;
  /** Largest acceptable round-trip time. */
  maxRttMs: number;
  /** Lowest acceptable reciprocity balance. */
  minBalanceBytes: number;
  /** Network tokens of the existing partners: a new partner must be on another network. */
  existingNetworkTokens: readonly string[];
  /** Ids that are already partners (never chosen twice). */
  existingPartners: readonly string[];
  /** How many new partners to choose. */
  count: number;
}

/** Default thresholds, shown in the app next to the criteria. */
export const DEFAULT_POOL_CRITERIA = {
  minUptime: 0.5,
  maxRttMs: 400,
  minBalanceBytes: 0,
} as const;

/** The verdict on one candidate. */
export interface CandidateVerdict {
  candidate: PoolCandidate;
  chosen: boolean;
  /** Plain-word reasons: why it was passed over, or why it was chosen. */
  reasons: string[];
  /** Rank score among eligible candidates (higher is better); null if not eligible. */
  score: number | null;
}

function pct(x: number): string {
  return `${Math.round(x * 100)}%`;
}

/**
 * Applies the criteria: hard filters first (capacity, uptime, network, round trip, balance), then
 * ranks the eligible by score = uptime − rtt penalty, and picks the best `count`, never two on the
 * same network. Deterministic: ties break by id.
 */
export function selectPoolPartners(candidates: readonly PoolCandidate[], criteria: PoolCriteria): CandidateVerdict[] {
  const verdicts: CandidateVerdict[] = candidates.map((c) => {
    const reasons: string[] = [];
    if (criteria.existingPartners.includes(c.id)) reasons.push('already your partner');
    if (c.offeredBytes < criteria.wantedBytes) reasons.push('offers less space than you need');
    if (c.uptime7d < criteria.minUptime) reasons.push(`online only ${pct(c.uptime7d)} of the last week (needs ${pct(criteria.minUptime)})`);
    if (criteria.existingNetworkTokens.includes(c.networkToken)) reasons.push('on the same network as one of your partners');
    if (c.rttMs === null) reasons.push('could not be reached to measure the connection');
    else if (c.rttMs > criteria.maxRttMs) reasons.push(`connection too slow (${Math.round(c.rttMs)} ms, limit ${criteria.maxRttMs} ms)`);
    if (c.balanceBytes < criteria.minBalanceBytes) reasons.push('takes more space from others than it gives');
    const eligible = reasons.length === 0;
    const score = eligible ? c.uptime7d - (c.rttMs ?? 0) / (10 * criteria.maxRttMs) : null;
    return { candidate: c, chosen: false, reasons, score };
  });

  const ranked = verdicts
    .filter((v) => v.score !== null)
    .sort((x, y) => y.score! - x.score! || (x.candidate.id < y.candidate.id ? -1 : 1));
  const usedTokens = new Set(criteria.existingNetworkTokens);
  let picked = 0;
  for (const v of ranked) {
    if (picked >= criteria.count) {
      v.reasons.push('enough partners were found among better-placed candidates');
      continue;
    }
    if (usedTokens.has(v.candidate.networkToken)) {
      v.reasons.push('on the same network as a better-placed candidate');
      continue;
    }
    v.chosen = true;
    usedTokens.add(v.candidate.networkToken);
    picked++;
    v.reasons.push(
      `online ${pct(v.candidate.uptime7d)} of the last week, ${Math.round(v.candidate.rttMs ?? 0)} ms away, on a different network, gives at least as much as it takes`,
    );
  }
  return verdicts;
}
