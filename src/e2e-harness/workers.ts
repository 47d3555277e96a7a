/**
 * Harness for the pipeline workers: `backpactHarness.workers.encodeDecodeRoundTrip(size, k, m)`
 * makes a pseudo-random file in the page, backs it up through the real worker pool (chunk, seal,
 * pack, Reed-Solomon, Merkle), drops m shards of every pack, restores through the pool, and
 * reports both SHA-256 digests with timings.
 */
import type { ChunkId } from '../core/ids.ts';
import { deriveUserKeys } from '../core/keys/derive.ts';
import { StreamingEncoder } from '../workers/backup.ts';
import type { EncodedPack } from '../core/pipeline/index.ts';
import { defaultPoolSize, WorkerPool } from '../workers/pool.ts';
import { assembleFile, decodePacks, startRestore } from '../workers/restore.ts';

/** Result of {@link WorkerHarness.encodeDecodeRoundTrip}. */
export interface RoundTripResult {
  sizeBytes: number;
  dataCount: number;
  parityCount: number;
  poolSize: number;
  packs: number;
  chunks: number;
  /** Shards dropped in total (m per pack). */
  droppedShards: number;
  /** How many of the dropped shards were data shards (so reconstruction really ran). */
  droppedDataShards: number;
  inputSha256: string;
  outputSha256: string;
  encodeMs: number;
  decodeMs: number;
  encodeMBps: number;
  decodeMBps: number;
}

/** What the harness page exposes. */
export interface WorkerHarness {
  encodeDecodeRoundTrip(sizeBytes?: number, dataCount?: number, parityCount?: number, poolSize?: number): Promise<RoundTripResult>;
  /** `navigator.hardwareConcurrency` and the pool size it implies. */
  poolInfo(): { hardwareConcurrency: number; poolSize: number };
}

/** Deterministic pseudo-random bytes (xorshift32), made 4 bytes per step so 64 MiB is quick. */
function pseudoRandomFile(size: number, seed: number): Uint8Array<ArrayBuffer> {
  const words = new Uint32Array(Math.ceil(size / 4));
  let s = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    words[i] = s;
  }
  return new Uint8Array(words.buffer, 0, size);
}

async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
}

async function encodeDecodeRoundTrip(sizeBytes = 64 * 1024 * 1024, dataCount = 4, parityCount = 2, poolSize?: number): Promise<RoundTripResult> {
  const keys = deriveUserKeys(crypto.getRandomValues(new Uint8Array(64)));
  const file = pseudoRandomFile(sizeBytes, 0x5eed);
  const inputSha256 = await sha256Hex(file);
  const pool = new WorkerPool(poolSize);
  try {
    const t0 = performance.now();
    const packs: EncodedPack[] = [];
    const backup = await StreamingEncoder.start(pool, keys, { dataCount, parityCount }, [], (p) => void packs.push(p));
    const encoded = await backup.addFile(new Blob([file]));
    await backup.finish();
    const encodeMs = performance.now() - t0;

    // Lose m shards of every pack, rotating which, so data and parity shards both go missing.
    const n = dataCount + parityCount;
    let droppedShards = 0;
    let droppedDataShards = 0;
    const jobs = packs.map((p, i) => {
      const shards: (Uint8Array | null)[] = p.shards.slice();
      for (let j = 0; j < parityCount; j++) {
        const idx = (i + j) % n;
        shards[idx] = null;
        droppedShards++;
        if (idx < dataCount) droppedDataShards++;
      }
      return { shards, ref: { packId: p.packId, length: p.length, dataCount: p.dataCount, merkleRoots: p.merkleRoots }, chunkIds: [] as ChunkId[] };
    });

    const t1 = performance.now();
    await startRestore(pool, keys);
    const chunks = new Map<ChunkId, Uint8Array>();
    await decodePacks(pool, jobs, (decoded) => {
      for (const c of decoded.chunks) chunks.set(c.id, c.data);
    });
    const restored = assembleFile(encoded.chunks, chunks, encoded.size) as Uint8Array<ArrayBuffer>;
    const decodeMs = performance.now() - t1;

    const mb = sizeBytes / 1e6;
    return {
      sizeBytes,
      dataCount,
      parityCount,
      poolSize: pool.size,
      packs: packs.length,
      chunks: encoded.chunks.length,
      droppedShards,
      droppedDataShards,
      inputSha256,
      outputSha256: await sha256Hex(restored),
      encodeMs: Math.round(encodeMs),
      decodeMs: Math.round(decodeMs),
      encodeMBps: Math.round(mb / (encodeMs / 1000)),
      decodeMBps: Math.round(mb / (decodeMs / 1000)),
    };
  } finally {
    pool.close();
  }
}

/** Puts `workers` on `globalThis.backpactHarness`. */
export function installWorkerHarness(): void {
  const harness: WorkerHarness = {
    encodeDecodeRoundTrip,
    poolInfo: () => ({ hardwareConcurrency: navigator.hardwareConcurrency, poolSize: defaultPoolSize() }),
  };
  globalThis.backpactHarness.workers = harness;
}
