/**
 * Backup through a worker pool. The calling thread only chunks and identifies (FastCDC and one
 * WebCrypto HMAC per chunk); sealing, packing, Reed-Solomon and Merkle hashing — the heavy part —
 * run in the pool, each worker filling its own packs. Chunks are sent in batches by transfer, and
 * at most {@link MAX_IN_FLIGHT_PER_WORKER} batches wait per worker, so memory stays bounded
 * whatever the file size.
 */
import { transfer } from 'comlink';
import { ChunkStage, type EncodedPack, type EncoderKeys, type FoundChunk, type PackEncoderOptions } from '../core/pipeline/index.ts';
import type { ChunkId } from '../core/ids.ts';
import { buffersOf, type ChunkJob } from './protocol.ts';
import type { WorkerPool } from './pool.ts';

/**
 * Batches in flight per worker before the reader pauses (back-pressure). One: a worker gets its
 * next batch when it answers the last, so the final batches go to whichever worker is free, and
 * fewer chunk buffers are alive at once (with two, the Node pool bench ran ~4% slower and the
 * Chromium round trip no faster).
 */
export const MAX_IN_FLIGHT_PER_WORKER = 1;

/** Plaintext bytes per batch sent to a worker: a few chunks, so messages stay few. */
export const BATCH_BYTES = 4 * 1024 * 1024;

/** A file as the encoder sees it. */
export type FileSource = Blob | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/** Result of {@link PoolBackup.addFile}. */
export interface PooledFile {
  readonly chunks: ChunkId[];
  readonly size: number;
}

async function* piecesOf(source: FileSource): AsyncGenerator<Uint8Array> {
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    yield* piecesOf(source.stream());
    return;
  }
  if (typeof ReadableStream !== 'undefined' && source instanceof ReadableStream) {
    const reader = source.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        yield value;
      }
    } finally {
      reader.releaseLock();
    }
  }
  yield* source as AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
}

/** One backup run over a pool: add files, then {@link finish} to collect every pack. */
export class PoolBackup {
  private readonly packs: EncodedPack[] = [];
  private readonly pending = new Set<Promise<void>>();
  private batch: ChunkJob[] = [];
  private batchBytes = 0;
  /** Batches sent so far. */
  private sent = 0;
  private failure: unknown = null;

  private constructor(
    private readonly pool: WorkerPool,
    private readonly stage: ChunkStage,
  ) {}

  /** Initialises every worker's encoder and the chunk stage. `known` lists chunk ids already stored. */
  static async start(pool: WorkerPool, keys: EncoderKeys, options: PackEncoderOptions, known: Iterable<ChunkId> = []): Promise<PoolBackup> {
    await pool.all((api) => api.initEncoder(keys, options));
    return new PoolBackup(pool, await ChunkStage.create(keys, known));
  }

  /** Chunks one file and hands its new chunks to the pool; resolves its chunk list. */
  async addFile(source: FileSource): Promise<PooledFile> {
    const chunks: ChunkId[] = [];
    let size = 0;
    const take = async (found: FoundChunk[]): Promise<void> => {
      for (const c of found) {
        chunks.push(c.id);
        size += c.length;
        if (c.data) await this.queue({ data: c.data, idBytes: c.idBytes });
      }
    };
    for await (const piece of piecesOf(source)) await take(await this.stage.push(piece));
    await take(await this.stage.endFile());
    return { chunks, size };
  }

  private async queue(job: ChunkJob): Promise<void> {
    this.batch.push(job);
    this.batchBytes += job.data.length;
    // The first batch of each worker is a single chunk, so the pool starts at once instead of
    // waiting for BATCH_BYTES to be chunked; the others are full batches.
    if (this.batchBytes >= BATCH_BYTES || this.sent < this.pool.size) await this.send();
  }

  private async send(): Promise<void> {
    if (this.batch.length === 0) return;
    if (this.failure) throw this.failure;
    // Back-pressure: wait while every worker already has its share of batches.
    while (this.pool.leastBusy().inFlight >= MAX_IN_FLIGHT_PER_WORKER) await Promise.race(this.pending);
    const jobs = this.batch;
    this.batch = [];
    this.batchBytes = 0;
    this.sent++;
    const worker = this.pool.leastBusy();
    const p = this.pool
      .run(worker, (api) => api.addChunks(transfer(jobs, buffersOf(jobs.map((j) => j.data)))))
      .then((packs) => void this.packs.push(...packs))
      .catch((e: unknown) => void (this.failure ??= e));
    const tracked = p.finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }

  /**
   * Sends the last batch, flushes every worker's open pack and resolves all packs made. Each
   * worker's flush is queued behind its own pending batch at once, so a worker that is done codes
   * its last pack while the others still work.
   */
  async finish(): Promise<EncodedPack[]> {
    await this.send();
    const last = this.pool.all((api) => api.flush());
    // Awaited below; until then a rejection must not count as unhandled.
    last.catch(() => undefined);
    await Promise.all(this.pending);
    if (this.failure) throw this.failure;
    for (const p of await last) if (p) this.packs.push(p);
    return this.packs;
  }
}
