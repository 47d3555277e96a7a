/**
 * Runs a compiled XOR program (`./program.ts`) over the super-blocks of a stripe.
 *
 * Performance notes (measured in Node 20 / V8; see bench/core-rs.bench.ts):
 * - Work is done on Int32Array views, 4 bytes per operation; XOR does not care about byte order, so
 *   results are the same on any platform.
 * - An op with many sources is run 4 sources at a time: one pass reads 4 packets and writes the
 *   destination once, instead of 4 read-modify-write passes.
 * - Loops are unrolled by 4 words. The program is the same for every super-block, and a
 *   super-block of every shard (8 packets) fits in L1/L2, so the repeated reads hit the cache.
 * - No closures or per-call allocation on the hot path, so V8 keeps the kernels monomorphic.
 */

/** d = a (zero sources would be d = 0; handled by the caller). */
function set1(d: Int32Array, od: number, a: Int32Array, oa: number, n: number): void {
  d.set(a.subarray(oa, oa + n), od);
}

function set2(d: Int32Array, od: number, a: Int32Array, oa: number, b: Int32Array, ob: number, n: number): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    d[od + i] = a[oa + i]! ^ b[ob + i]!;
    d[od + i + 1] = a[oa + i + 1]! ^ b[ob + i + 1]!;
    d[od + i + 2] = a[oa + i + 2]! ^ b[ob + i + 2]!;
    d[od + i + 3] = a[oa + i + 3]! ^ b[ob + i + 3]!;
  }
  for (; i < n; i++) d[od + i] = a[oa + i]! ^ b[ob + i]!;
}

function set3(d: Int32Array, od: number, a: Int32Array, oa: number, b: Int32Array, ob: number, c: Int32Array, oc: number, n: number): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    d[od + i] = a[oa + i]! ^ b[ob + i]! ^ c[oc + i]!;
    d[od + i + 1] = a[oa + i + 1]! ^ b[ob + i + 1]! ^ c[oc + i + 1]!;
    d[od + i + 2] = a[oa + i + 2]! ^ b[ob + i + 2]! ^ c[oc + i + 2]!;
    d[od + i + 3] = a[oa + i + 3]! ^ b[ob + i + 3]! ^ c[oc + i + 3]!;
  }
  for (; i < n; i++) d[od + i] = a[oa + i]! ^ b[ob + i]! ^ c[oc + i]!;
}

function set4(
  d: Int32Array, od: number, a: Int32Array, oa: number, b: Int32Array, ob: number,
  c: Int32Array, oc: number, e: Int32Array, oe: number, n: number,
): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    d[od + i] = a[oa + i]! ^ b[ob + i]! ^ c[oc + i]! ^ e[oe + i]!;
    d[od + i + 1] = a[oa + i + 1]! ^ b[ob + i + 1]! ^ c[oc + i + 1]! ^ e[oe + i + 1]!;
    d[od + i + 2] = a[oa + i + 2]! ^ b[ob + i + 2]! ^ c[oc + i + 2]! ^ e[oe + i + 2]!;
    d[od + i + 3] = a[oa + i + 3]! ^ b[ob + i + 3]! ^ c[oc + i + 3]! ^ e[oe + i + 3]!;
  }
  for (; i < n; i++) d[od + i] = a[oa + i]! ^ b[ob + i]! ^ c[oc + i]! ^ e[oe + i]!;
}

function xor1(d: Int32Array, od: number, a: Int32Array, oa: number, n: number): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    d[od + i] = d[od + i]! ^ a[oa + i]!;
    d[od + i + 1] = d[od + i + 1]! ^ a[oa + i + 1]!;
    d[od + i + 2] = d[od + i + 2]! ^ a[oa + i + 2]!;
    d[od + i + 3] = d[od + i + 3]! ^ a[oa + i + 3]!;
  }
  for (; i < n; i++) d[od + i] = d[od + i]! ^ a[oa + i]!;
}

function xor2(d: Int32Array, od: number, a: Int32Array, oa: number, b: Int32Array, ob: number, n: number): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    d[od + i] = d[od + i]! ^ a[oa + i]! ^ b[ob + i]!;
    d[od + i + 1] = d[od + i + 1]! ^ a[oa + i + 1]! ^ b[ob + i + 1]!;
    d[od + i + 2] = d[od + i + 2]! ^ a[oa + i + 2]! ^ b[ob + i + 2]!;
    d[od + i + 3] = d[od + i + 3]! ^ a[oa + i + 3]! ^ b[ob + i + 3]!;
  }
  for (; i < n; i++) d[od + i] = d[od + i]! ^ a[oa + i]! ^ b[ob + i]!;
}

function xor3(d: Int32Array, od: number, a: Int32Array, oa: number, b: Int32Array, ob: number, c: Int32Array, oc: number, n: number): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    d[od + i] = d[od + i]! ^ a[oa + i]! ^ b[ob + i]! ^ c[oc + i]!;
    d[od + i + 1] = d[od + i + 1]! ^ a[oa + i + 1]! ^ b[ob + i + 1]! ^ c[oc + i + 1]!;
    d[od + i + 2] = d[od + i + 2]! ^ a[oa + i + 2]! ^ b[ob + i + 2]! ^ c[oc + i + 2]!;
    d[od + i + 3] = d[od + i + 3]! ^ a[oa + i + 3]! ^ b[ob + i + 3]! ^ c[oc + i + 3]!;
  }
  for (; i < n; i++) d[od + i] = d[od + i]! ^ a[oa + i]! ^ b[ob + i]! ^ c[oc + i]!;
}

function xor4(
  d: Int32Array, od: number, a: Int32Array, oa: number, b: Int32Array, ob: number,
  c: Int32Array, oc: number, e: Int32Array, oe: number, n: number,
): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    d[od + i] = d[od + i]! ^ a[oa + i]! ^ b[ob + i]! ^ c[oc + i]! ^ e[oe + i]!;
    d[od + i + 1] = d[od + i + 1]! ^ a[oa + i + 1]! ^ b[ob + i + 1]! ^ c[oc + i + 1]! ^ e[oe + i + 1]!;
    d[od + i + 2] = d[od + i + 2]! ^ a[oa + i + 2]! ^ b[ob + i + 2]! ^ c[oc + i + 2]! ^ e[oe + i + 2]!;
    d[od + i + 3] = d[od + i + 3]! ^ a[oa + i + 3]! ^ b[ob + i + 3]! ^ c[oc + i + 3]! ^ e[oe + i + 3]!;
  }
  for (; i < n; i++) d[od + i] = d[od + i]! ^ a[oa + i]! ^ b[ob + i]! ^ c[oc + i]! ^ e[oe + i]!;
}

/**
 * Runs `ops` on `blocks` consecutive super-blocks starting at word `start` of every shard, with
 * packets of `pw` words (a super-block is 8·pw words). `shards[s]` is shard s's word view; the
 * program's destination slots must not be read before they are written (the compiler ensures it).
 */
export function runProgram(ops: Int32Array, shards: readonly Int32Array[], start: number, blocks: number, pw: number): void {
  const nOps = ops.length;
  for (let b = 0; b < blocks; b++) {
    const base = start + b * 8 * pw;
    let p = 0;
    while (p < nOps) {
      const n = ops[p]!;
      const dst = ops[p + 1]!;
      const d = shards[dst >> 3]!;
      const od = base + (dst & 7) * pw;
      let s = p + 2;
      const end = s + n;
      if (n === 0) {
        d.fill(0, od, od + pw);
      } else {
        // First group assigns, so destinations need no clearing and are written once per group.
        const s0 = ops[s]!;
        const a = shards[s0 >> 3]!;
        const oa = base + (s0 & 7) * pw;
        if (n === 1) {
          set1(d, od, a, oa, pw);
          s += 1;
        } else {
          const s1 = ops[s + 1]!;
          const bb = shards[s1 >> 3]!;
          const ob = base + (s1 & 7) * pw;
          if (n === 2) {
            set2(d, od, a, oa, bb, ob, pw);
            s += 2;
          } else {
            const s2 = ops[s + 2]!;
            const c = shards[s2 >> 3]!;
            const oc = base + (s2 & 7) * pw;
            if (n === 3) {
              set3(d, od, a, oa, bb, ob, c, oc, pw);
              s += 3;
            } else {
              const s3 = ops[s + 3]!;
              set4(d, od, a, oa, bb, ob, c, oc, shards[s3 >> 3]!, base + (s3 & 7) * pw, pw);
              s += 4;
            }
          }
        }
        while (s < end) {
          const left = end - s;
          const t0 = ops[s]!;
          const a2 = shards[t0 >> 3]!;
          const oa2 = base + (t0 & 7) * pw;
          if (left === 1) {
            xor1(d, od, a2, oa2, pw);
            s += 1;
            continue;
          }
          const t1 = ops[s + 1]!;
          const b2 = shards[t1 >> 3]!;
          const ob2 = base + (t1 & 7) * pw;
          if (left === 2) {
            xor2(d, od, a2, oa2, b2, ob2, pw);
            s += 2;
            continue;
          }
          const t2 = ops[s + 2]!;
          const c2 = shards[t2 >> 3]!;
          const oc2 = base + (t2 & 7) * pw;
          if (left === 3) {
            xor3(d, od, a2, oa2, b2, ob2, c2, oc2, pw);
            s += 3;
            continue;
          }
          const t3 = ops[s + 3]!;
          xor4(d, od, a2, oa2, b2, ob2, c2, oc2, shards[t3 >> 3]!, base + (t3 & 7) * pw, pw);
          s += 4;
        }
      }
      p = end;
    }
  }
}
