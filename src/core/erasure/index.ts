/**
 * Systematic Reed-Solomon erasure code over GF(2^8), pure TypeScript (no WASM, no native code, no
 * runtime code generation).
 *
 * A stripe is k data shards and m parity shards of equal length; any k of the k + m shards
 * reconstruct all of them (the coding matrix in `./matrix.ts` is MDS). Shards may have any length,
 * including 0; shards whose byte offset is not a multiple of 4 are copied first.
 *
 * Symbol layout (part of the format, see docs/DESIGN.md §4): a shard of L bytes is cut into
 * super-blocks of 8 packets of {@link PACKET_BYTES}; then one smaller super-block of 8 packets of
 * 4·⌊t/32⌋ bytes covers the tail t = L mod (8·PACKET_BYTES); the last L mod 32 bytes or fewer are
 * coded byte-wise (one byte = one symbol). Within a super-block, the 8 bits of a symbol are the
 * same bit position of the 8 packets ("bit slicing"), which turns every multiplication into XORs.
 */
import { RS_PACKET_BYTES, RS_PROGRAM_CACHE_SIZE } from '../constants.ts';
import { CodeParametersError, NotEnoughShardsError, ShardLengthError } from '../errors.ts';
import { gfInvertMatrix, gfMul } from './gf256.ts';
import { runProgram } from './kernel.ts';
import { checkCodeParameters, codingMatrix } from './matrix.ts';
import { compileEncode, compileReconstruct, type XorProgram } from './program.ts';

export { codingMatrix, MAX_TOTAL_SHARDS } from './matrix.ts';

/** Bytes per packet of a full super-block (see `RS_PACKET_BYTES` in `../constants.ts`). */
export const PACKET_BYTES = RS_PACKET_BYTES;

const SUPER_BLOCK_BYTES = 8 * PACKET_BYTES;

/** Geometry of the symbol layout for one shard length. */
interface Layout {
  /** Full super-blocks. */
  blocks: number;
  /** Words per packet of the tail super-block (0 when there is none). */
  tailPw: number;
  /** First byte coded byte-wise. */
  byteStart: number;
}

function layout(length: number): Layout {
  const blocks = Math.floor(length / SUPER_BLOCK_BYTES);
  const tail = length - blocks * SUPER_BLOCK_BYTES;
  const tailPw = Math.floor(tail / 32);
  return { blocks, tailPw, byteStart: blocks * SUPER_BLOCK_BYTES + 32 * tailPw };
}

/** Word view of the first `words` words of `bytes`, copying when it is not 4-byte aligned. */
function wordView(bytes: Uint8Array, words: number): Int32Array {
  if (bytes.byteOffset % 4 === 0) return new Int32Array(bytes.buffer, bytes.byteOffset, words);
  const copy = new Int32Array(words);
  new Uint8Array(copy.buffer).set(bytes.subarray(0, words * 4));
  return copy;
}

function runLayout(program: XorProgram, shards: readonly Uint8Array[], lay: Layout): void {
  const words = lay.byteStart / 4;
  if (words === 0) return;
  const views = shards.map((s) => wordView(s, words));
  const pw = PACKET_BYTES / 4;
  runProgram(program.ops, views, 0, lay.blocks, pw);
  if (lay.tailPw > 0) runProgram(program.ops, views, lay.blocks * 8 * pw, 1, lay.tailPw);
}

const programCache = new Map<string, XorProgram>();
const PROGRAM_CACHE_SIZE = RS_PROGRAM_CACHE_SIZE;

function cachedProgram(key: string, make: () => XorProgram): XorProgram {
  const hit = programCache.get(key);
  if (hit) {
    // Re-insert so the map's insertion order is least-recently-used first.
    programCache.delete(key);
    programCache.set(key, hit);
    return hit;
  }
  const program = make();
  programCache.set(key, program);
  if (programCache.size > PROGRAM_CACHE_SIZE) programCache.delete(programCache.keys().next().value!);
  return program;
}

function checkLengths(shards: readonly (Uint8Array | null)[]): number {
  let length = -1;
  for (const s of shards) {
    if (!s) continue;
    if (length < 0) length = s.length;
    else if (s.length !== length) throw new ShardLengthError(`shards of one stripe differ in length (${length} and ${s.length})`);
  }
  return length;
}

/**
 * Computes the m = `parityCount` parity shards of the k = `data.length` data shards, which must
 * all have the same length. Returns m new arrays of that length; `data` is not modified.
 * Throws {@link CodeParametersError} unless 1 ≤ k, 1 ≤ m, k + m ≤ 255, and
 * {@link ShardLengthError} when lengths differ.
 */
export function encode(data: readonly Uint8Array[], parityCount: number): Uint8Array[] {
  checkCodeParameters(data.length, parityCount);
  const length = checkLengths(data);
  const parity = Array.from({ length: parityCount }, () => new Uint8Array(Math.max(0, length)));
  encodeInto(data, parity);
  return parity;
}

/**
 * {@link encode} writing into caller-provided parity arrays (m = `parity.length`, each as long as
 * the data shards; every byte is overwritten, so they need no clearing). Lets a caller keep data and
 * parity shards in one buffer, e.g. views of one padded pack, with no copy. Parity arrays must not
 * overlap the data; ones not 4-byte aligned are computed aside and copied in. Same bytes as
 * {@link encode}; same errors.
 */
export function encodeInto(data: readonly Uint8Array[], parity: readonly Uint8Array[]): void {
  const k = data.length;
  const m = parity.length;
  checkCodeParameters(k, m);
  const length = checkLengths([...data, ...parity]);
  const out = parity.map((p) => (p.byteOffset % 4 === 0 ? p : new Uint8Array(length)));
  const c = codingMatrix(k, m);
  const lay = layout(length);
  runLayout(
    cachedProgram(`e${k},${m}`, () => compileEncode(c, k, m)),
    [...data, ...out],
    lay,
  );
  for (let t = lay.byteStart; t < length; t++) {
    for (let r = 0; r < m; r++) {
      const row = c[r]!;
      let acc = 0;
      for (let j = 0; j < k; j++) acc ^= gfMul(row[j]!, data[j]![t]!);
      out[r]![t] = acc;
    }
  }
  for (let r = 0; r < m; r++) if (out[r] !== parity[r]) parity[r]!.set(out[r]!);
}

/**
 * Rebuilds a stripe. `shards` holds the k + m shards in order (data first), `null` where one is
 * missing; `dataCount` is k. Returns all k + m shards: present ones are the same objects, missing
 * ones are new arrays. Throws {@link NotEnoughShardsError} when fewer than k are present,
 * {@link ShardLengthError} when present shards differ in length, {@link CodeParametersError} for
 * invalid k or m (m = shards.length − k).
 */
export function reconstruct(shards: readonly (Uint8Array | null)[], dataCount: number): Uint8Array[] {
  const k = dataCount;
  const m = shards.length - k;
  checkCodeParameters(k, m);
  const present = shards.map((s) => s !== null);
  const presentCount = present.filter(Boolean).length;
  if (presentCount < k) throw new NotEnoughShardsError(presentCount, k);
  const length = checkLengths(shards);
  if (presentCount === k + m) return shards as Uint8Array[];
  const out = shards.map((s) => s ?? new Uint8Array(length));
  const c = codingMatrix(k, m);
  const lay = layout(length);
  const mask = present.map((p) => (p ? '1' : '0')).join('');
  runLayout(
    cachedProgram(`r${k},${m},${mask}`, () => compileReconstruct(c, k, m, present)),
    out,
    lay,
  );
  if (lay.byteStart < length) reconstructBytes(out, present, c, k, m, lay.byteStart, length);
  return out;
}

/** Byte-wise reconstruction of bytes [from, to) — the < 32-byte tail of the layout. */
function reconstructBytes(
  out: Uint8Array[], present: readonly boolean[], c: readonly (readonly number[])[],
  k: number, m: number, from: number, to: number,
): void {
  // Use the first k present shards; their generator rows form an invertible k×k matrix.
  const use: number[] = [];
  for (let i = 0; i < k + m && use.length < k; i++) if (present[i]) use.push(i);
  const rows = use.map((i) => (i < k ? Array.from({ length: k }, (_, j) => (j === i ? 1 : 0)) : c[i - k]!.slice()));
  const inv = gfInvertMatrix(rows);
  if (!inv) throw new CodeParametersError(k, m);
  for (let j = 0; j < k; j++) {
    if (present[j]) continue;
    const coeffs = inv[j]!;
    const dst = out[j]!;
    for (let t = from; t < to; t++) {
      let acc = 0;
      for (let u = 0; u < k; u++) acc ^= gfMul(coeffs[u]!, out[use[u]!]![t]!);
      dst[t] = acc;
    }
  }
  for (let r = 0; r < m; r++) {
    if (present[k + r]) continue;
    const row = c[r]!;
    const dst = out[k + r]!;
    for (let t = from; t < to; t++) {
      let acc = 0;
      for (let j = 0; j < k; j++) acc ^= gfMul(row[j]!, out[j]![t]!);
      dst[t] = acc;
    }
  }
}
