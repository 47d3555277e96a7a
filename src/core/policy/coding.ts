/**
 * How a pack is coded across partners: k data + m parity shards, one shard per partner, chosen
 * from the partners' observed reliability and a durability target (docs/DESIGN.md §7).
 *
 * Model: over one repair window (the time an owner needs to notice and repair a lost shard), each
 * partner i independently loses what it holds with probability p_i. A pack is lost when more than
 * m of its n = k + m shards are lost. We pick the largest k (least storage overhead n / k) whose
 * loss probability is at most the target, keeping at least one spare (m ≥ 1) when there are two or
 * more partners. With few partners this is plain replication (k = 1): a (2,1) code over three
 * browser partners loses data when any two fail, while three copies survive losing any two.
 */
import { InvalidArgumentError } from '../errors.ts';

/** Chance that a partner loses what it holds within one repair window, by availability level. */
export const LOSS_PROBABILITY = {
  'few-hours': 0.1,
  'most-of-day': 0.05,
  'always-on': 0.02,
} as const;

/** Default target: a pack is lost with probability at most 1 in 10,000 per repair window. */
export const DEFAULT_LOSS_TARGET = 1e-4;

/** The coding chosen for a set of partners. */
export interface CodingChoice {
  /** Data shards: any k of the n shards rebuild the pack. */
  k: number;
  /** Parity shards: the pack survives losing any m partners. */
  m: number;
  /** Probability, under the model, that a pack is lost in one repair window. */
  lossProbability: number;
  /** Storage used per byte backed up: n / k. */
  overhead: number;
  /** Whether this is plain replication (k = 1). */
  replication: boolean;
}

/**
 * Probability that more than `m` of the independent events with probabilities `p` happen
 * (Poisson-binomial tail, by dynamic programming over the count).
 */
export function probabilityMoreThan(p: readonly number[], m: number): number {
  let dist = [1];
  for (const pi of p) {
    const next = new Array<number>(dist.length + 1).fill(0);
    for (let j = 0; j < dist.length; j++) {
      next[j]! += dist[j]! * (1 - pi);
      next[j + 1]! += dist[j]! * pi;
    }
    dist = next;
  }
  let tail = 0;
  for (let j = m + 1; j < dist.length; j++) tail += dist[j]!;
  return tail;
}

/**
 * Chooses (k, m) for partners whose per-window loss probabilities are `p` (one shard each).
 * Throws {@link InvalidArgumentError} with no partners or an out-of-range probability.
 */
export function chooseCoding(p: readonly number[], target = DEFAULT_LOSS_TARGET): CodingChoice {
  const n = p.length;
  if (n === 0) throw new InvalidArgumentError('at least one partner is needed to back up');
  if (n > 255) throw new InvalidArgumentError('at most 255 shards per pack');
  if (p.some((x) => !(x >= 0 && x <= 1))) throw new InvalidArgumentError('loss probabilities must be in [0, 1]');
  const maxK = n === 1 ? 1 : n - 1;
  for (let k = maxK; k >= 1; k--) {
    const m = n - k;
    const loss = probabilityMoreThan(p, m);
    if (loss <= target || k === 1) return { k, m, lossProbability: loss, overhead: n / k, replication: k === 1 };
  }
  /* c8 ignore next */
  throw new InvalidArgumentError('unreachable');
}

/**
 * How many shards of a pack must be durable before a snapshot that uses it may be committed:
 * min(n, k + 1), so a committed pack always survives one more loss than "just decodable".
 */
export function commitThreshold(k: number, m: number): number {
  return Math.min(k + m, k + 1);
}
