/**
 * Shared helpers for benchmarks. Every benchmark prints one JSON line per measurement:
 * `{"bench":"<name>","value":<number>,"unit":"MB/s"|"ms"|"msg/s"|..., ...extra}`.
 * The machines are noisy, so each result should be read against the `memcpy` and `xor-loop`
 * baselines measured in the same run (see `xorBaseline`).
 */
import { pathToFileURL } from 'node:url';

/** One benchmark result. */
export interface BenchLine {
  bench: string;
  value: number;
  unit: string;
  [extra: string]: unknown;
}

/** Prints one result as a JSON line on stdout. */
export function emit(line: BenchLine): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

/** Options for {@link measureMBps}. */
export interface MeasureOptions {
  /** Minimum wall time to spend measuring, after warm-up. */
  minMs?: number;
  /** Warm-up iterations (not timed) so the JIT has specialised the code. */
  warmup?: number;
  /** Minimum timed iterations. */
  minIterations?: number;
}

/**
 * Runs `fn` repeatedly and returns the best-of-batches throughput in MB/s (10^6 bytes/s),
 * where each call processes `bytesPerCall` bytes. Best-of is used because interference on a
 * shared machine only ever makes a run slower.
 */
export async function measureMBps(
  fn: () => unknown | Promise<unknown>,
  bytesPerCall: number,
  opts: MeasureOptions = {},
): Promise<number> {
  const minMs = opts.minMs ?? 1000;
  const warmup = opts.warmup ?? 3;
  const minIterations = opts.minIterations ?? 5;
  for (let i = 0; i < warmup; i++) await fn();
  let best = 0;
  let iterations = 0;
  const start = performance.now();
  while (iterations < minIterations || performance.now() - start < minMs) {
    const t0 = performance.now();
    await fn();
    const dt = performance.now() - t0;
    iterations++;
    if (dt > 0) best = Math.max(best, bytesPerCall / 1e6 / (dt / 1000));
  }
  return best;
}

const BASE_BYTES = 16 * 1024 * 1024;

/** MB/s of `Uint8Array.prototype.set` copying 16 MiB: the memory-bandwidth baseline. */
export async function memcpyBaseline(): Promise<number> {
  const src = new Uint8Array(BASE_BYTES);
  const dst = new Uint8Array(BASE_BYTES);
  for (let i = 0; i < src.length; i += 4096) src[i] = i & 0xff;
  return measureMBps(() => dst.set(src), BASE_BYTES, { minMs: 500 });
}

/** XORs `src` into `dst` 32 bits at a time, unrolled by 8. Lengths must be multiples of 32 bytes. */
function xorInto(dst: Uint32Array, src: Uint32Array): void {
  const n = dst.length;
  for (let i = 0; i < n; i += 8) {
    dst[i] = dst[i]! ^ src[i]!;
    dst[i + 1] = dst[i + 1]! ^ src[i + 1]!;
    dst[i + 2] = dst[i + 2]! ^ src[i + 2]!;
    dst[i + 3] = dst[i + 3]! ^ src[i + 3]!;
    dst[i + 4] = dst[i + 4]! ^ src[i + 4]!;
    dst[i + 5] = dst[i + 5]! ^ src[i + 5]!;
    dst[i + 6] = dst[i + 6]! ^ src[i + 6]!;
    dst[i + 7] = dst[i + 7]! ^ src[i + 7]!;
  }
}

/**
 * MB/s (of `src` bytes) of an unrolled 32-bit XOR loop over 1 MiB arrays: the CPU baseline.
 * It rotates over 8 distinct source/destination pairs, as erasure coding does over shards:
 * with a single pair V8 can specialise the loop on that one array and reads ~2x faster than any
 * real kernel could (17 vs 8.8 GB/s measured here), which would make the baseline meaningless.
 */
export async function xorBaseline(): Promise<number> {
  const bytes = 1024 * 1024;
  const pairs: [Uint32Array, Uint32Array][] = [];
  for (let p = 0; p < 8; p++) {
    const src = new Uint32Array(bytes / 4);
    for (let i = 0; i < src.length; i++) src[i] = Math.imul(i + p, 2654435761) >>> 0;
    pairs.push([new Uint32Array(bytes / 4), src]);
  }
  return measureMBps(() => { for (const [dst, src] of pairs) xorInto(dst, src); }, bytes * pairs.length, { minMs: 500 });
}

/**
 * The command line that runs `file` (this benchmark's own module, from `import.meta.url`) in a
 * fresh Node process with `args`. `npm run bench` runs the core benchmarks from an esbuild bundle
 * (`.mjs`, as the app's code ships); run directly from source (`npx tsx bench/x.bench.ts`) the
 * child needs tsx too.
 */
export function nodeCommand(file: string, args: readonly string[]): string[] {
  return [process.execPath, ...(file.endsWith('.ts') ? ['--import', 'tsx'] : []), file, ...args];
}

/**
 * Source for an `eval` worker thread that loads `file` (see {@link nodeCommand}): a bundle is
 * imported as it is; TypeScript source needs tsx registered inside the worker first (`--import
 * tsx` in execArgv does not reach worker threads on Node 20).
 */
export function workerBoot(file: string): string {
  const href = JSON.stringify(pathToFileURL(file).href);
  return file.endsWith('.ts') ? `import('tsx/esm/api').then(({ register }) => { register(); return import(${href}); });` : `import(${href});`;
}
