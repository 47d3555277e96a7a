/**
 * Choosing what to challenge in an audit round: `c` leaves (default 16) drawn with fresh
 * randomness from all the leaves a partner holds for us, weighted by shard size so every leaf is
 * equally likely. Within a round no leaf is asked twice, and leaves asked in recent rounds are
 * avoided until the partner's whole holding has been covered, which raises the chance of hitting a
 * lost leaf across rounds above independent draws (docs/DESIGN.md §8).
 *
 * Detection maths (independent draws, the worst case): a partner that lost a fraction f of the
 * leaves survives one round with probability (1 − f)^c. For c = 16 the rounds needed to catch the
 * loss with 99.9 % are 43, 9, 5 and 1 for f = 1, 5, 10 and 50 %.
 */
import { InvalidArgumentError } from '../errors.ts';
import { cryptoRandomInt } from '../random.ts';

/** Default leaves per round. */
export const DEFAULT_LEAVES_PER_ROUND = 16;

/** A shard the partner holds, as the owner knows it. */
export interface AuditableShard {
  shard: string;
  /** Number of 1 KiB leaves. */
  leaves: number;
}

/** The leaves asked of one shard in a round. */
export interface ShardChallenge {
  shard: string;
  /** Distinct leaf indices, ascending. */
  leaves: number[];
}

/** Uniform integer in [0, n). Injected: WebCrypto in the app, seeded in Monte-Carlo tests. */
export type RandomInt = (n: number) => number;

/**
 * Remembers which leaves of a partner were asked recently, as a set of global leaf numbers, and
 * forgets them all once most of the holding has been covered. Kept by the owner per partner;
 * serialisable as a plain array.
 */
export class CoverageMemory {
  readonly asked: Set<number>;
  constructor(asked: Iterable<number> = []) {
    this.asked = new Set(asked);
  }
}

/**
 * Draws one round's challenge. `shards` must be non-empty. Throws {@link InvalidArgumentError}
 * when there is nothing to audit.
 */
export function drawChallenge(
  shards: readonly AuditableShard[],
  random: RandomInt,
  count = DEFAULT_LEAVES_PER_ROUND,
  memory: CoverageMemory = new CoverageMemory(),
): ShardChallenge[] {
  const total = shards.reduce((s, x) => s + x.leaves, 0);
  if (shards.length === 0 || total === 0) throw new InvalidArgumentError('nothing to audit');
  const want = Math.min(count, total);
  // Forget coverage once fewer fresh leaves remain than a round needs.
  if (total - memory.asked.size < want) memory.asked.clear();
  const picked = new Set<number>();
  while (picked.size < want) {
    const g = random(total);
    if (picked.has(g) || memory.asked.has(g)) continue;
    picked.add(g);
  }
  for (const g of picked) memory.asked.add(g);
  // Map global leaf numbers to (shard, leaf).
  const sorted = [...picked].sort((a, b) => a - b);
  const out: ShardChallenge[] = [];
  let base = 0;
  let i = 0;
  for (const s of shards) {
    const leaves: number[] = [];
    while (i < sorted.length && sorted[i]! < base + s.leaves) leaves.push(sorted[i++]! - base);
    if (leaves.length) out.push({ shard: s.shard, leaves });
    base += s.leaves;
  }
  return out;
}

export { cryptoRandomInt };
