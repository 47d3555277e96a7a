/**
 * Compiles encoding and reconstruction into XOR programs over bit-sliced packets.
 *
 * Bit slicing: each shard is cut into super-blocks of 8 equal packets, and bit q of a symbol is
 * the same bit of packet q (see `./index.ts`). Multiplying a symbol by a field element c is then
 * the GF(2)-linear map of c's 8×8 bit matrix, so every output packet is the XOR of some input
 * packets and the whole code runs on 32-bit XORs, with no table lookups.
 *
 * A program is a list of ops `dst = src_1 ^ … ^ src_n` over slots (slot = shard·8 + packet). It is
 * the same for every super-block, so it is compiled once per (k, m, erasure pattern) and cached.
 *
 * Cost reductions, decided at compile time:
 * - Scheduling: a target packet may be built from already computed targets plus a few sources
 *   when that reads fewer packets (a greedy extension of Plank's "smart scheduling").
 * - Reconstruction solves the GF(2) system for the lost packets directly on packets, either as
 *   direct XOR lists (rows of the inverse) or by sparse LU elimination fused into multi-source
 *   XORs, trying several choices of parity shards, and keeps the cheapest. Reconstruction then
 *   costs about as much as encoding.
 * - Wide codes (rare in practice) fall back to simpler, compile-time-cheap strategies.
 */
import { RS_COMPILE_BUDGETS } from '../constants.ts';
import { gfBitMatrix } from './gf256.ts';

/** A compiled XOR program. */
export interface XorProgram {
  /** Flat ops: `[n, dst, src_1, …, src_n]` repeated; slots are shard·8 + packet. */
  readonly ops: Int32Array;
  /** Estimated packet reads and writes per super-block, used to pick between strategies. */
  readonly cost: number;
}

interface Target {
  dst: number;
  row: Uint8Array;
}

/** Above this targets² × slots, scheduling stops searching for reuse across targets. */
const GREEDY_BUDGET = RS_COMPILE_BUDGETS.greedy;
/** Above this, it stops trying even Plank's one-previous-target reuse. */
const IN_ORDER_BUDGET = RS_COMPILE_BUDGETS.inOrder;
/** Above this unknowns² × slots, reconstruction uses the cheap single strategy. */
const SEARCH_BUDGET = RS_COMPILE_BUDGETS.search;
/** Total work allowed across the parity-subset search. */
const SUBSET_SEARCH_BUDGET = RS_COMPILE_BUDGETS.subsetSearch;
/** How many parity-shard subsets reconstruction compilation tries at most. */
const MAX_SUBSETS_TRIED = RS_COMPILE_BUDGETS.maxSubsets;

/** Row (over all slots) of parity shard r's packet i: which data packets it XORs. */
function parityRow(c: readonly (readonly number[])[], k: number, slots: number, r: number, i: number): Uint8Array {
  const row = new Uint8Array(slots);
  const coeffs = c[r]!;
  for (let j = 0; j < k; j++) {
    const mask = gfBitMatrix(coeffs[j]!)[i]!;
    for (let q = 0; q < 8; q++) if ((mask >> q) & 1) row[j * 8 + q] = 1;
  }
  return row;
}

function ones(row: Uint8Array): number[] {
  const out: number[] = [];
  for (let s = 0; s < row.length; s++) if (row[s]) out.push(s);
  return out;
}

/** Appends ops computing every target to `ops`; returns the cost (packet reads + writes). */
function schedule(targets: readonly Target[], ops: number[]): number {
  const slots = targets[0]?.row.length ?? 0;
  const work = targets.length * targets.length * slots;
  if (work <= GREEDY_BUDGET) return scheduleGreedy(targets, ops);
  if (work <= IN_ORDER_BUDGET) return scheduleInOrder(targets, ops);
  let cost = 0;
  for (const { dst, row } of targets) {
    const sources = ones(row);
    ops.push(sources.length, dst, ...sources);
    cost += sources.length + 1;
  }
  return cost;
}

/**
 * Greedy scheduling: each round, every remaining target is expressed as an XOR of source packets
 * and already computed targets (adding a computed target while that lowers the packets to read),
 * and the cheapest target is emitted next.
 */
function scheduleGreedy(targets: readonly Target[], ops: number[]): number {
  const slots = targets[0]?.row.length ?? 0;
  const done: Target[] = [];
  const remaining = targets.slice();
  const scratch = new Uint8Array(slots);
  let cost = 0;
  while (remaining.length > 0) {
    let bestIdx = 0;
    let bestSources: number[] | null = null;
    for (let t = 0; t < remaining.length; t++) {
      const sources = represent(remaining[t]!.row, done, scratch, bestSources ? bestSources.length : Infinity);
      if (sources && (!bestSources || sources.length < bestSources.length)) {
        bestIdx = t;
        bestSources = sources;
      }
    }
    const target = remaining.splice(bestIdx, 1)[0]!;
    const sources = bestSources ?? ones(target.row);
    ops.push(sources.length, target.dst, ...sources);
    cost += sources.length + 1;
    done.push(target);
  }
  return cost;
}

/**
 * Slots whose XOR is `row`, using computed targets from `done` where each saves reads. Returns
 * null once it cannot use fewer than `bound` sources. `res` is scratch of row.length.
 */
function represent(row: Uint8Array, done: readonly Target[], res: Uint8Array, bound: number): number[] | null {
  res.set(row);
  let weight = 0;
  for (let s = 0; s < res.length; s++) weight += res[s]!;
  const used: number[] = [];
  for (;;) {
    let best = -1;
    // Using a computed target costs one read, so it must remove at least two sources.
    let bestWeight = weight - 1;
    for (let d = 0; d < done.length; d++) {
      const v = done[d]!.row;
      let w = 0;
      for (let s = 0; s < res.length && w < bestWeight; s++) w += res[s]! ^ v[s]!;
      if (w < bestWeight) {
        bestWeight = w;
        best = d;
      }
    }
    if (best < 0) break;
    const v = done[best]!.row;
    for (let s = 0; s < res.length; s++) res[s] = res[s]! ^ v[s]!;
    weight = bestWeight;
    used.push(done[best]!.dst);
    if (used.length >= bound) return null;
  }
  if (used.length + weight >= bound) return null;
  for (let s = 0; s < res.length; s++) if (res[s]) used.push(s);
  return used;
}

/** Plank's smart scheduling: from scratch, or from one earlier target plus the difference. */
function scheduleInOrder(targets: readonly Target[], ops: number[]): number {
  let cost = 0;
  for (let t = 0; t < targets.length; t++) {
    const { dst, row } = targets[t]!;
    let sources = ones(row);
    for (let u = 0; u < t; u++) {
      const prev = targets[u]!;
      let diff = 0;
      for (let s = 0; s < row.length && diff + 1 < sources.length; s++) diff += row[s]! ^ prev.row[s]!;
      if (diff + 1 < sources.length) {
        const alt = [prev.dst];
        for (let s = 0; s < row.length; s++) if (row[s] !== prev.row[s]) alt.push(s);
        sources = alt;
      }
    }
    ops.push(sources.length, dst, ...sources);
    cost += sources.length + 1;
  }
  return cost;
}

/** Program computing all m parity shards (slots of shards k … k+m−1) from the k data shards. */
export function compileEncode(c: readonly (readonly number[])[], k: number, m: number): XorProgram {
  const slots = (k + m) * 8;
  const targets: Target[] = [];
  for (let r = 0; r < m; r++) for (let i = 0; i < 8; i++) targets.push({ dst: (k + r) * 8 + i, row: parityRow(c, k, slots, r, i) });
  const ops: number[] = [];
  const cost = schedule(targets, ops);
  return { ops: Int32Array.from(ops), cost };
}

/** Result of Gauss-Jordan elimination. */
interface GaussJordan {
  /** Pivot column (unknown index) each equation row ends up holding. */
  pivotCol: Int32Array;
  /** Row operations in order, as pairs [target row, pivot row]. */
  steps: number[];
  /** comb[row]: original rows whose XOR the row ends as (rows of the inverse); only if asked. */
  comb: Uint8Array[] | null;
}

/**
 * Gauss-Jordan elimination of a square GF(2) system. With `sparse`, it pivots on the column with
 * the fewest ones using its lightest row (fewer row operations); otherwise on columns in order
 * (cheap to compile, for wide codes). Rows are bit-packed. Returns null if singular.
 */
function gaussJordan(matrix: readonly Uint8Array[], sparse: boolean, withComb: boolean): GaussJordan | null {
  const n = matrix.length;
  const words = (n + 31) >>> 5;
  const a = matrix.map((r) => {
    const p = new Uint32Array(words);
    for (let j = 0; j < n; j++) if (r[j]) p[j >>> 5]! |= 1 << (j & 31);
    return p;
  });
  const comb = withComb
    ? matrix.map((_, i) => {
        const p = new Uint32Array(words);
        p[i >>> 5] = 1 << (i & 31);
        return p;
      })
    : null;
  const bit = (row: Uint32Array, j: number): number => (row[j >>> 5]! >>> (j & 31)) & 1;
  const used = new Uint8Array(n);
  const colDone = new Uint8Array(n);
  const pivotCol = new Int32Array(n).fill(-1);
  const steps: number[] = [];
  for (let step = 0; step < n; step++) {
    let col = -1;
    if (sparse) {
      let bestCount = Infinity;
      for (let j = 0; j < n; j++) {
        if (colDone[j]) continue;
        let count = 0;
        let available = false;
        for (let r = 0; r < n; r++) {
          if (bit(a[r]!, j)) {
            count++;
            if (!used[r]) available = true;
          }
        }
        if (available && count < bestCount) {
          bestCount = count;
          col = j;
        }
      }
    } else {
      col = step;
    }
    if (col < 0) return null;
    let pivot = -1;
    let pivotWeight = Infinity;
    for (let r = 0; r < n; r++) {
      if (used[r] || !bit(a[r]!, col)) continue;
      if (!sparse) {
        pivot = r;
        break;
      }
      let w = 0;
      for (const x of a[r]!) w += popcount(x);
      if (w < pivotWeight) {
        pivotWeight = w;
        pivot = r;
      }
    }
    if (pivot < 0) return null;
    used[pivot] = 1;
    colDone[col] = 1;
    pivotCol[pivot] = col;
    const pr = a[pivot]!;
    const pc = comb?.[pivot];
    for (let r = 0; r < n; r++) {
      if (r === pivot || !bit(a[r]!, col)) continue;
      const ar = a[r]!;
      for (let w = 0; w < words; w++) ar[w] = ar[w]! ^ pr[w]!;
      if (comb && pc) {
        const cr = comb[r]!;
        for (let w = 0; w < words; w++) cr[w] = cr[w]! ^ pc[w]!;
      }
      steps.push(r, pivot);
    }
  }
  const unpack = (p: Uint32Array): Uint8Array => {
    const out = new Uint8Array(n);
    for (let j = 0; j < n; j++) out[j] = bit(p, j);
    return out;
  };
  return { pivotCol, steps, comb: comb ? comb.map(unpack) : null };
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

/** Result of forward elimination. */
interface Lu {
  /** Pivot rows in elimination order. */
  rows: number[];
  /** Pivot column of each row. */
  col: Int32Array;
  /** lower[r]: earlier pivot rows XORed into row r before it became a pivot. */
  lower: number[][];
  /** upper[r]: later pivot columns where pivot row r still has a one. */
  upper: number[][];
}

/**
 * Forward elimination of a square GF(2) system with Markowitz pivoting (minimising
 * (row ones − 1)·(column ones − 1), to limit fill-in). A pivot row never changes once chosen, which
 * is what lets each row's updates be fused into one multi-source XOR. Null if singular.
 */
function luEliminate(matrix: readonly Uint8Array[]): Lu | null {
  const n = matrix.length;
  const a = matrix.map((r) => r.slice());
  const used = new Uint8Array(n);
  const colDone = new Uint8Array(n);
  const col = new Int32Array(n).fill(-1);
  const rows: number[] = [];
  const lower: number[][] = matrix.map(() => []);
  const rowWeight = new Int32Array(n);
  const colCount = new Int32Array(n);
  for (let step = 0; step < n; step++) {
    rowWeight.fill(0);
    colCount.fill(0);
    for (let r = 0; r < n; r++) {
      if (used[r]) continue;
      const ar = a[r]!;
      for (let j = 0; j < n; j++) {
        if (ar[j] && !colDone[j]) {
          rowWeight[r]!++;
          colCount[j]!++;
        }
      }
    }
    let bestR = -1;
    let bestC = -1;
    let bestScore = Infinity;
    for (let r = 0; r < n; r++) {
      if (used[r]) continue;
      const ar = a[r]!;
      for (let j = 0; j < n; j++) {
        if (!ar[j] || colDone[j]) continue;
        const score = ((rowWeight[r]! - 1) * (colCount[j]! - 1) * n + colCount[j]!) * n + rowWeight[r]!;
        if (score < bestScore) {
          bestScore = score;
          bestR = r;
          bestC = j;
        }
      }
    }
    if (bestR < 0) return null;
    used[bestR] = 1;
    colDone[bestC] = 1;
    col[bestR] = bestC;
    rows.push(bestR);
    const pr = a[bestR]!;
    for (let r = 0; r < n; r++) {
      if (used[r] || !a[r]![bestC]) continue;
      const ar = a[r]!;
      for (let j = 0; j < n; j++) ar[j] = ar[j]! ^ pr[j]!;
      lower[r]!.push(bestR);
    }
  }
  const upper = matrix.map((_, r) => {
    const out: number[] = [];
    for (let j = 0; j < n; j++) if (a[r]![j] && j !== col[r]) out.push(j);
    return out;
  });
  return { rows, col, lower, upper };
}

/** All size-`e` subsets of `items` in lexicographic order, at most `limit` of them. */
function subsets(items: readonly number[], e: number, limit: number): number[][] {
  const out: number[][] = [];
  const pick: number[] = [];
  const rec = (start: number): void => {
    if (out.length >= limit) return;
    if (pick.length === e) {
      out.push(pick.slice());
      return;
    }
    for (let i = start; i <= items.length - (e - pick.length) && out.length < limit; i++) {
      pick.push(items[i]!);
      rec(i + 1);
      pick.pop();
    }
  };
  rec(0);
  return out;
}

interface Candidate {
  ops: number[];
  cost: number;
}

/**
 * Program rebuilding every absent shard of a stripe from the present ones. `present[i]` tells
 * whether shard i (data first, then parity) is present; at least k must be.
 *
 * The e lost data shards are solved from e present parity shards: the right-hand side of each
 * equation is the parity packet XOR the present data packets it covers, and the 8e×8e GF(2)
 * system maps unknown packets to those. For each tried choice of parity shards:
 * (B) every unknown packet as a direct XOR of present packets (rows of the inverse), scheduled
 *     greedily so solved unknowns are reused;
 * (D) right-hand sides computed in the slots of the unknowns they will become, then sparse forward
 *     elimination and back substitution, each row's updates fused into one XOR op.
 * Wide systems use (A) instead: right-hand sides in place, then the Gauss-Jordan row operations
 * one by one. Lost parity is re-encoded from the complete data at the end.
 */
export function compileReconstruct(c: readonly (readonly number[])[], k: number, m: number, present: readonly boolean[]): XorProgram {
  const slots = (k + m) * 8;
  const lostData: number[] = [];
  const presentParity: number[] = [];
  const lostParity: number[] = [];
  for (let j = 0; j < k; j++) if (!present[j]) lostData.push(j);
  for (let r = 0; r < m; r++) (present[k + r] ? presentParity : lostParity).push(r);

  let best: Candidate | null = null;
  const e = lostData.length;
  if (e > 0) {
    const n = 8 * e;
    const unknownSlot = (u: number): number => lostData[u >> 3]! * 8 + (u & 7);
    const work = n * n * slots;
    const search = work <= SEARCH_BUDGET;
    const tries = search ? Math.max(1, Math.min(MAX_SUBSETS_TRIED, Math.floor(SUBSET_SEARCH_BUDGET / work))) : 1;
    for (const chosen of subsets(presentParity, e, tries)) {
      const matrix: Uint8Array[] = [];
      const rhs: Uint8Array[] = [];
      for (const r of chosen) {
        for (let i = 0; i < 8; i++) {
          const full = parityRow(c, k, slots, r, i);
          const mrow = new Uint8Array(n);
          for (let u = 0; u < n; u++) {
            const s = unknownSlot(u);
            mrow[u] = full[s]!;
            full[s] = 0;
          }
          full[(k + r) * 8 + i] = 1;
          matrix.push(mrow);
          rhs.push(full);
        }
      }
      const candidates = search ? [strategyDirect(matrix, rhs, unknownSlot), strategyLu(matrix, rhs, unknownSlot)] : [strategyGaussJordan(matrix, rhs, unknownSlot)];
      for (const cand of candidates) if (!best || cand.cost < best.cost) best = cand;
    }
  }
  const ops = best ? best.ops : [];
  let cost = best ? best.cost : 0;
  const parityTargets: Target[] = lostParity.flatMap((r) =>
    Array.from({ length: 8 }, (_, i) => ({ dst: (k + r) * 8 + i, row: parityRow(c, k, slots, r, i) })),
  );
  cost += schedule(parityTargets, ops);
  return { ops: Int32Array.from(ops), cost };
}

function singular(): never {
  throw new Error('erasure: singular reconstruction system (the coding matrix is not MDS)');
}

/** Strategy (B) of {@link compileReconstruct}. */
function strategyDirect(matrix: Uint8Array[], rhs: Uint8Array[], unknownSlot: (u: number) => number): Candidate {
  const gj = gaussJordan(matrix, true, true) ?? singular();
  const slots = rhs[0]!.length;
  const targets: Target[] = [];
  for (let row = 0; row < matrix.length; row++) {
    const acc = new Uint8Array(slots);
    const cm = gj.comb![row]!;
    for (let o = 0; o < cm.length; o++) {
      if (!cm[o]) continue;
      const src = rhs[o]!;
      for (let s = 0; s < slots; s++) acc[s] = acc[s]! ^ src[s]!;
    }
    targets.push({ dst: unknownSlot(gj.pivotCol[row]!), row: acc });
  }
  const ops: number[] = [];
  return { ops, cost: schedule(targets, ops) };
}

/** Strategy (D) of {@link compileReconstruct}. */
function strategyLu(matrix: Uint8Array[], rhs: Uint8Array[], unknownSlot: (u: number) => number): Candidate {
  const lu = luEliminate(matrix) ?? singular();
  const ops: number[] = [];
  // Row r's value lives in the slot of the unknown it pivots on, from start to finish.
  const storage = (row: number): number => unknownSlot(lu.col[row]!);
  let cost = schedule(
    rhs.map((row, i) => ({ dst: storage(i), row })),
    ops,
  );
  for (const r of lu.rows) {
    const l = lu.lower[r]!;
    if (l.length === 0) continue;
    ops.push(l.length + 1, storage(r), storage(r), ...l.map(storage));
    cost += l.length + 2;
  }
  for (let t = lu.rows.length - 1; t >= 0; t--) {
    const r = lu.rows[t]!;
    const u = lu.upper[r]!;
    if (u.length === 0) continue;
    ops.push(u.length + 1, storage(r), storage(r), ...u.map(unknownSlot));
    cost += u.length + 2;
  }
  return { ops, cost };
}

/** Strategy (A) of {@link compileReconstruct}, cheap to compile for wide systems. */
function strategyGaussJordan(matrix: Uint8Array[], rhs: Uint8Array[], unknownSlot: (u: number) => number): Candidate {
  const gj = gaussJordan(matrix, false, false) ?? singular();
  const ops: number[] = [];
  const storage = (row: number): number => unknownSlot(gj.pivotCol[row]!);
  let cost = schedule(
    rhs.map((row, i) => ({ dst: storage(i), row })),
    ops,
  );
  for (let s = 0; s < gj.steps.length; s += 2) {
    const t = storage(gj.steps[s]!);
    ops.push(2, t, t, storage(gj.steps[s + 1]!));
    cost += 3;
  }
  return { ops, cost };
}
