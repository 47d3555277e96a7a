/**
 * The coding matrix of the systematic Reed-Solomon code: shard i < k is data, shard k + r is
 * parity r = Σ_j C[r][j]·data_j over GF(2^8). The stripe is MDS (any k shards determine the rest)
 * exactly when every square submatrix of C is nonsingular.
 *
 * Construction (a format constant: changing it makes existing parity unreadable):
 * - m = 1: C = [1 … 1] (parity is the XOR of the data; k = 1 gives plain replication).
 * - m = 2: row 0 all ones, row 1 the k distinct non-zero elements of lowest bit-matrix weight (ties
 *   to the smaller element). A 2-row Vandermonde-style matrix: every 1×1 entry is non-zero and
 *   every 2×2 minor is a_i + a_j ≠ 0 because the a_i are distinct, so it is MDS.
 * - m ≥ 3: a Cauchy matrix C[r][j] = 1 / (x_r + y_j) with disjoint point sets (every square
 *   submatrix of a Cauchy matrix is nonsingular), normalised without losing that property: each
 *   column is divided by its row-0 entry (row 0 becomes all ones, so parity 0 is plain XOR), then
 *   each later row is divided by the entry that minimises the row's total bit weight. The points
 *   are y_j = j and x_r = k + r, except for the (k, m) listed in {@link TUNED_POINTS}, whose
 *   points were found by an offline search for low bit weight (`./search-points.ts`).
 *
 * Low bit weight matters because the kernel multiplies by XORing bit-sliced packets: an entry of
 * weight w costs w packet XORs, and 1 costs 8 (a plain XOR of the whole shard).
 */
import { CodeParametersError } from '../errors.ts';
import { gfBitWeight, gfDiv, gfInv, gfMul } from './gf256.ts';
import { TUNED_POINTS } from './tuned-points.ts';

/** Largest k + m: a GF(2^8) Cauchy matrix needs k + m distinct field elements. */
export const MAX_TOTAL_SHARDS = 255;

/** Throws {@link CodeParametersError} unless 1 ≤ k, 1 ≤ m, k + m ≤ 255 (all integers). */
export function checkCodeParameters(k: number, m: number): void {
  if (!Number.isInteger(k) || !Number.isInteger(m) || k < 1 || m < 1 || k + m > MAX_TOTAL_SHARDS) {
    throw new CodeParametersError(k, m);
  }
}

const WEIGHT: number[] = Array.from({ length: 256 }, (_, c) => (c === 0 ? 0 : gfBitWeight(c)));

/** Non-zero elements ordered by (bit weight, value). */
const BY_WEIGHT: number[] = Array.from({ length: 255 }, (_, i) => i + 1).sort((a, b) => WEIGHT[a]! - WEIGHT[b]! || a - b);

/** Total bit weight of a matrix: the XOR cost of encoding with it, in packets. */
export function matrixBitWeight(c: readonly (readonly number[])[]): number {
  let w = 0;
  for (const row of c) for (const e of row) w += WEIGHT[e]!;
  return w;
}

/** Normalised Cauchy matrix for the given points (see the module comment). */
export function normalisedCauchy(xs: readonly number[], ys: readonly number[]): number[][] {
  const c = xs.map((x) => ys.map((y) => gfInv(x ^ y)));
  const row0 = c[0]!;
  for (let j = 0; j < ys.length; j++) {
    const f = row0[j]!;
    for (const row of c) row[j] = gfDiv(row[j]!, f);
  }
  for (let r = 1; r < c.length; r++) {
    const row = c[r]!;
    let best = 0;
    let bestWeight = Infinity;
    for (let j = 0; j < row.length; j++) {
      const f = gfInv(row[j]!);
      let w = 0;
      for (const e of row) w += WEIGHT[gfMul(e, f)]!;
      if (w < bestWeight) {
        bestWeight = w;
        best = j;
      }
    }
    const f = gfInv(row[best]!);
    for (let j = 0; j < row.length; j++) row[j] = gfMul(row[j]!, f);
  }
  return c;
}

const cache = new Map<string, readonly (readonly number[])[]>();

/**
 * The m×k coding matrix for (k, m), as described in the module comment. Deterministic, cached,
 * and must never change for format version 1. Throws {@link CodeParametersError}.
 */
export function codingMatrix(k: number, m: number): readonly (readonly number[])[] {
  checkCodeParameters(k, m);
  const key = `${k},${m}`;
  const hit = cache.get(key);
  if (hit) return hit;
  let c: number[][];
  if (m === 1) {
    c = [new Array<number>(k).fill(1)];
  } else if (m === 2) {
    c = [new Array<number>(k).fill(1), BY_WEIGHT.slice(0, k)];
  } else {
    const tuned = TUNED_POINTS[key];
    const xs = tuned ? tuned.xs : Array.from({ length: m }, (_, r) => k + r);
    const ys = tuned ? tuned.ys : Array.from({ length: k }, (_, j) => j);
    c = normalisedCauchy(xs, ys);
  }
  const frozen = c.map((row) => Object.freeze(row));
  Object.freeze(frozen);
  cache.set(key, frozen);
  return frozen;
}
