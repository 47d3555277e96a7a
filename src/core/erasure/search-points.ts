/**
 * Offline tool (not imported by the app): searches Cauchy points of low bit weight for the table in
 * `./tuned-points.ts`. Run: `npx tsx src/core/erasure/search-points.ts <k> <m> [restarts]`.
 *
 * Method: local search from the default points (y_j = j, x_r = k + r) and from a few
 * deterministic pseudo-random starts; each sweep replaces one point by the unused field element
 * that lowers the normalised matrix's bit weight most, until no replacement helps. The result is
 * still a Cauchy matrix, so it is MDS whatever the points.
 */
import { matrixBitWeight, normalisedCauchy } from './matrix.ts';

/** Result of {@link searchPoints}. */
export interface PointSearchResult {
  xs: number[];
  ys: number[];
  weight: number;
}

/** Deterministic local search for (k, m); see the module comment. */
export function searchPoints(k: number, m: number, restarts: number): PointSearchResult {
  let seed = 0x9e3779b9;
  const rand = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  let best: PointSearchResult | null = null;
  for (let attempt = 0; attempt <= restarts; attempt++) {
    let points: number[];
    if (attempt === 0) {
      points = [...Array.from({ length: m }, (_, r) => k + r), ...Array.from({ length: k }, (_, j) => j)];
    } else {
      const perm = Array.from({ length: 256 }, (_, i) => i);
      for (let i = 255; i > 0; i--) {
        const j = rand(i + 1);
        [perm[i], perm[j]] = [perm[j]!, perm[i]!];
      }
      points = perm.slice(0, k + m);
    }
    const weightOf = (p: number[]): number => matrixBitWeight(normalisedCauchy(p.slice(0, m), p.slice(m)));
    let weight = weightOf(points);
    for (let improved = true; improved; ) {
      improved = false;
      for (let pos = 0; pos < k + m; pos++) {
        const inUse = new Set(points);
        let bestCand = -1;
        let bestWeight = weight;
        for (let cand = 0; cand < 256; cand++) {
          if (inUse.has(cand)) continue;
          const trial = points.slice();
          trial[pos] = cand;
          const w = weightOf(trial);
          if (w < bestWeight) {
            bestWeight = w;
            bestCand = cand;
          }
        }
        if (bestCand >= 0) {
          points[pos] = bestCand;
          weight = bestWeight;
          improved = true;
        }
      }
    }
    if (!best || weight < best.weight) best = { xs: points.slice(0, m), ys: points.slice(m), weight };
  }
  return best!;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const k = Number(process.argv[2]);
  const m = Number(process.argv[3]);
  const restarts = Number(process.argv[4] ?? 8);
  const r = searchPoints(k, m, restarts);
  console.log(JSON.stringify({ [`${k},${m}`]: { xs: r.xs, ys: r.ys }, weight: r.weight }));
}
