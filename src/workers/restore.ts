/**
 * Restore through a worker pool: packs are rebuilt and their chunks decrypted in parallel, then
 * files are assembled in order on the calling thread.
 */
import { transfer } from 'comlink';
import type { ChunkId } from '../core/ids.ts';
import { buffersOf, type PackChunks, type PackJob } from './protocol.ts';
import type { WorkerPool } from './pool.ts';

/** Initialises decoding in every worker. */
export async function startRestore(pool: WorkerPool, keys: { dataKey: Uint8Array; dedupKey: Uint8Array }): Promise<void> {
  await pool.all((api) => api.initDecoder(keys));
}

/** Rebuilds one pack in the least busy worker and resolves its decrypted chunks. */
export function decodePack(pool: WorkerPool, job: PackJob): Promise<PackChunks> {
  const worker = pool.leastBusy();
  return pool.run(worker, (api) => api.decodePack(transfer(job, buffersOf(job.shards))));
}

/** The Merkle root of `bytes`, computed in the least busy worker (the bytes come back transferred). */
export function shardRoot(pool: WorkerPool, bytes: Uint8Array): Promise<{ bytes: Uint8Array; root: Uint8Array }> {
  return pool.run(pool.leastBusy(), (api) => api.merkleRoot(transfer(bytes, buffersOf([bytes]))));
}

/**
 * Decodes many packs with at most `pool.size × 2` in flight, calling `onPack` as each finishes
 * (in completion order), so chunks can be written out without holding every pack in memory.
 * Rejects with the first failure (e.g. `NotEnoughShardsError`) once the jobs in flight settle.
 */
export async function decodePacks(pool: WorkerPool, jobs: Iterable<PackJob>, onPack: (chunks: PackChunks) => void | Promise<void>): Promise<void> {
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | null = null;
  for (const job of jobs) {
    while (inFlight.size >= pool.size * 2) await Promise.race(inFlight);
    if (failure) break;
    // Errors are recorded, not thrown here, so no in-flight job is left with an unhandled rejection.
    const p: Promise<void> = decodePack(pool, job)
      .then(onPack)
      .catch((error: unknown) => void (failure ??= { error }))
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  }
  await Promise.all(inFlight);
  if (failure) throw (failure as { error: unknown }).error;
}

/** Concatenates a file's chunks, in order, from decoded chunk data. */
export function assembleFile(chunkIds: readonly ChunkId[], chunks: ReadonlyMap<ChunkId, Uint8Array>, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let o = 0;
  for (const id of chunkIds) {
    const c = chunks.get(id);
    if (!c) throw new Error(`restore: chunk ${id} was not decoded`);
    out.set(c, o);
    o += c.length;
  }
  return out;
}
