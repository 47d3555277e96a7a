/**
 * Arithmetic in GF(2^8) with the reducing polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11d), the one
 * used by most Reed-Solomon storage codes. Elements are numbers 0..255; addition is XOR.
 *
 * Also provides each element's 8×8 bit matrix over GF(2), which the bit-sliced kernel uses to turn
 * a multiplication into XORs of whole packets (see `./program.ts`).
 */
import { InvalidArgumentError } from '../errors.ts';

/** The reducing polynomial, including the x^8 term. */
export const GF_POLYNOMIAL = 0x11d;

/** exp[i] = g^i for the generator g = 2, doubled in length so exp[log a + log b] needs no mod. */
const EXP = new Uint8Array(512);
/** log[a] for a ≠ 0; log[0] is unused. */
const LOG = new Uint8Array(256);
{
  let x = 1;
  for (let i = 0; i < 255; i++) {
    EXP[i] = x;
    LOG[x] = i;
    x <<= 1;
    if (x & 0x100) x ^= GF_POLYNOMIAL;
  }
  for (let i = 255; i < 512; i++) EXP[i] = EXP[i - 255]!;
}

/** Product of two field elements. */
export function gfMul(a: number, b: number): number {
  if (a === 0 || b === 0) return 0;
  return EXP[LOG[a]! + LOG[b]!]!;
}

/** Multiplicative inverse; throws for 0, which has none. */
export function gfInv(a: number): number {
  if (a === 0) throw new InvalidArgumentError('0 has no inverse in GF(2^8)');
  return EXP[255 - LOG[a]!]!;
}

/** a / b for b ≠ 0. */
export function gfDiv(a: number, b: number): number {
  return gfMul(a, gfInv(b));
}

/**
 * Row-major 256-entry product table for `c`: table[x] = c·x. Used by the byte-wise path that codes
 * the last few (< 32) bytes of a shard.
 */
export function gfMulTable(c: number): Uint8Array {
  const t = new Uint8Array(256);
  if (c === 0) return t;
  const lc = LOG[c]!;
  for (let x = 1; x < 256; x++) t[x] = EXP[lc + LOG[x]!]!;
  return t;
}

/**
 * The 8×8 GF(2) matrix of "multiply by `c`", as 8 row masks: bit j of rows[i] is bit i of c·2^j.
 * With a symbol s = Σ s_j·2^j, bit i of c·s is the XOR over j of s_j·bit(rows[i], j).
 */
export function gfBitMatrix(c: number): number[] {
  const rows = [0, 0, 0, 0, 0, 0, 0, 0];
  for (let j = 0; j < 8; j++) {
    const col = gfMul(c, 1 << j);
    for (let i = 0; i < 8; i++) if ((col >> i) & 1) rows[i]! |= 1 << j;
  }
  return rows;
}

/** Number of ones in {@link gfBitMatrix}(c): the XOR cost of multiplying a bit-sliced symbol by c. */
export function gfBitWeight(c: number): number {
  let w = 0;
  for (const r of gfBitMatrix(c)) {
    let x = r;
    while (x) {
      w += x & 1;
      x >>>= 1;
    }
  }
  return w;
}

/**
 * Inverts a square matrix over GF(2^8) (rows of numbers) by Gauss-Jordan elimination. Returns null
 * when it is singular.
 */
export function gfInvertMatrix(matrix: readonly (readonly number[])[]): number[][] | null {
  const n = matrix.length;
  const a = matrix.map((r) => r.slice());
  const inv: number[][] = matrix.map((_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
  for (let col = 0; col < n; col++) {
    let pivot = col;
    while (pivot < n && a[pivot]![col] === 0) pivot++;
    if (pivot === n) return null;
    [a[col], a[pivot]] = [a[pivot]!, a[col]!];
    [inv[col], inv[pivot]] = [inv[pivot]!, inv[col]!];
    const f = gfInv(a[col]![col]!);
    const ar = a[col]!;
    const ir = inv[col]!;
    for (let j = 0; j < n; j++) {
      ar[j] = gfMul(ar[j]!, f);
      ir[j] = gfMul(ir[j]!, f);
    }
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const g = a[r]![col]!;
      if (g === 0) continue;
      const rr = a[r]!;
      const ri = inv[r]!;
      for (let j = 0; j < n; j++) {
        rr[j] = rr[j]! ^ gfMul(g, ar[j]!);
        ri[j] = ri[j]! ^ gfMul(g, ir[j]!);
      }
    }
  }
  return inv;
}
