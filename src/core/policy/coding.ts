/**
 * How a pack is coded across partners: k data + m parity shards, one shard per partner, chosen
 * from the partners' reliability, their observed availability and two targets (docs/DESIGN.md
 * §7.2).
 *
 * Model, per partner i (independent):
 * - durability: over one repair window (the time an owner needs to notice and repair a lost
 *   shard) it loses what it holds with probability p_i; a pack is lost when more than m of its
 *   n = k + m shards are lost. Must be at most the loss target (1e-4).
 * - reachability: at a random moment it is online with probability a_i (observed presence,
 *   `presence.ts`); a pack can be rebuilt right away when at least k holders are online, i.e.
 *   not more than m are offline. Must be at least the reach target (0.9) — or as high as
 *   replication gets, when no code reaches it.
 * - spare shards: a code with k ≥ 2 must have m ≥ 2, so one partner can be lost and the pack
 *   still survive another loss while it is repaired; (k, 1) codes, e.g. a fragile (2, 1) over
 *   three partners that dies of any two losses, are never chosen.
 * We pick the largest k (least storage overhead n / k) meeting all three, else plain
 * replication (k = 1), which is the most durable and the most reachable coding there is.
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

/** Default target: a pack can be rebuilt at a random moment with probability at least 0.9. */
export const DEFAULT_REACH_TARGET = 0.9;

/** Options of {@link chooseCoding}. */
export interface CodingOptions {
  /** Highest acceptable loss probability per repair window. */
  lossTarget?: number;
  /** Chance each partner is online at a random moment (same order as the loss probabilities); default always. */
  availability?: readonly number[];
  /** Lowest acceptable chance that k holders are online at a random moment. */
  reachTarget?: number;
}

/** The coding chosen for a set of partners. */
export interface CodingChoice {
  /** Data shards: any k of the n shards rebuild the pack. */
  k: number;
  /** Parity shards: the pack survives losing any m partners. */
  m: number;
  /** Probability, under the model, that a pack is lost in one repair window. */
  lossProbability: number;
  /** Probability, under the model, that at least k holders are online at a random moment. */
  reachProbability: number;
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
 * Chooses (k, m) for partners whose per-window loss probabilities are `p` (one shard each) and
 * whose availabilities are `opts.availability` (see the module comment). Throws
 * {@link InvalidArgumentError} with no partners or an out-of-range probability.
 */
export function chooseCoding(p: readonly number[], opts: CodingOptions = {}): CodingChoice {
  const n = p.length;
  const target = opts.lossTarget ?? DEFAULT_LOSS_TARGET;
  const reachTarget = opts.reachTarget ?? DEFAULT_REACH_TARGET;
  const a = opts.availability ?? p.map(() => 1);
  if (n === 0) throw new InvalidArgumentError('at least one partner is needed to back up');
  if (n > 255) throw new InvalidArgumentError('at most 255 shards per pack');
  const unit = (x: number): boolean => x >= 0 && x <= 1;
  if (!p.every(unit)) throw new InvalidArgumentError('loss probabilities must be in [0, 1]');
  if (a.length !== n || !a.every(unit)) throw new InvalidArgumentError('one availability in [0, 1] per partner is needed');
  const choice = (k: number): CodingChoice => evaluateCoding(k, p, a);
  for (let k = n - 2; k >= 2; k--) {
    const c = choice(k);
    if (c.lossProbability <= target && c.reachProbability >= reachTarget) return c;
  }
  return choice(1);
}

/** The model's figures for k data shards over partners with loss `p` and availability `a` (m = n − k). */
export function evaluateCoding(k: number, p: readonly number[], a: readonly number[]): CodingChoice {
  const m = p.length - k;
  return {
    k, m,
    lossProbability: probabilityMoreThan(p, m),
    reachProbability: 1 - probabilityMoreThan(a.map((x) => 1 - x), m),
    overhead: p.length / k,
    replication: k === 1,
  };
}

/**
 * How many shards of a pack must be durable before a snapshot that uses it may be committed:
 * min(n, k + 1), so a committed pack always survives one more loss than "just decodable".
 */
export function commitThreshold(k: number, m: number): number {
  return Math.min(k + m, k + 1);
}
