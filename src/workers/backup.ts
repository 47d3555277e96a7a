/**
 * Backup through a worker pool. The calling thread only chunks and identifies (FastCDC and one
 * WebCrypto HMAC per chunk); sealing, packing, Reed-Solomon and Merkle hashing — the heavy part —
 * run in the pool, each worker filling its own packs. Chunks go to the workers in batches by
 * transfer, and every coded pack is handed to `onPack` as soon as its worker is done with it.
 *
 * Memory is bounded whatever the size of the backup: a batch counts as pending until the packs it
 * produced were accepted by `onPack`, and at most {@link MAX_PENDING_PER_WORKER} batches per
 * worker are pending. A consumer that {@link StreamingEncoder.release}s each pack once placed
 * sends its buffer back to the worker that coded it, so a long backup cycles the same few large
 * buffers instead of allocating one per pack (see `core/pack/buffers.ts`).
 */
import { transfer } from 'comlink';
import type { ChunkId } from '../core/ids.ts';
import { ChunkStage, type EncodedPack, type EncoderKeys, type FoundChunk, type PackEncoderOptions } from '../core/pipeline/index.ts';
import type { PooledWorker, WorkerPool } from './pool.ts';
import { buffersOf, type ChunkJob } from './protocol.ts';

/** Batches per worker not yet handed on (back-pressure from the consumer to the reader). */
export const MAX_PENDING_PER_WORKER = 2;
/** Plaintext bytes per batch sent to a worker: a few chunks, so messages stay few. */
export const BATCH_BYTES = 4 * 1024 * 1024;

/**
 * Pieces of a file chunked ahead of the one whose chunks are being handed on, their HMAC ids being
 * computed meanwhile (WebCrypto runs them off this thread). Bounds the chunk copies held.
 */
export const PIECES_IDENTIFIED_AHEAD = 3;

/** A file as the encoder reads it. */
export type FileSource = Blob | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/** One file's result. */
export interface EncodedFileInfo {
  readonly chunks: ChunkId[];
  readonly size: number;
  /** Plaintext bytes of chunks new to this backup (sent to the workers). */
  readonly newBytes: number;
}

/** The pieces of a file in order, never the whole file at once. */
async function* piecesOf(source: FileSource, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    yield* piecesOf(source.stream(), signal);
    return;
  }
  if (typeof ReadableStream !== 'undefined' && source instanceof ReadableStream) {
    const reader = source.getReader();
    try {
      for (;;) {
        signal?.throwIfAborted();
        const { done, value } = await reader.read();
        if (done) return;
        yield value;
      }
    } finally {
      await reader.cancel().catch(() => undefined);
    }
  }
  for await (const piece of source as AsyncIterable<Uint8Array> | Iterable<Uint8Array>) {
    signal?.throwIfAborted();
    yield piece;
  }
}

/** One backup run's encoder. Add files, then call {@link finish} once. */
export class StreamingEncoder {
  private readonly pending = new Set<Promise<void>>();
  private batch: ChunkJob[] = [];
  private batchBytes = 0;
  /** Batches sent so far. */
  private sent = 0;
  private failure: { error: unknown } | null = null;
  /** The worker that coded each pack handed on and not yet released (its buffer goes back there). */
  private readonly madeBy = new WeakMap<EncodedPack, PooledWorker>();

  private constructor(
    private readonly pool: WorkerPool,
    private readonly stage: ChunkStage,
    private readonly onPack: (pack: EncodedPack) => void | Promise<void>,
  ) {}

  /**
   * Sets up every worker's encoder. `known` lists chunk ids already stored (they are not sent
   * again); `onPack` receives each coded pack and may wait (back-pressure) before resolving.
   */
  static async start(
    pool: WorkerPool, keys: EncoderKeys, options: PackEncoderOptions, known: Iterable<ChunkId>, onPack: (pack: EncodedPack) => void | Promise<void>,
  ): Promise<StreamingEncoder> {
    await pool.all((api) => api.initEncoder(keys, options));
    return new StreamingEncoder(pool, await ChunkStage.create(keys, known), onPack);
  }

  /** Chunks one file; `onBytes` gets the count of bytes read so far in it. */
  async addFile(file: FileSource, signal?: AbortSignal, onBytes?: (read: number) => void): Promise<EncodedFileInfo> {
    const chunks: ChunkId[] = [];
    let size = 0;
    let newBytes = 0;
    let read = 0;
    const take = async (found: FoundChunk[]): Promise<void> => {
      for (const c of found) {
        chunks.push(c.id);
        size += c.length;
        if (c.data) {
          newBytes += c.length;
          await this.queue({ data: c.data, idBytes: c.idBytes });
        }
      }
    };
    // The ids of the last few pieces are computed (off this thread, in parallel) while the next
    // pieces are chunked; chunks are still taken in order.
    const identifying: Promise<FoundChunk[]>[] = [];
    try {
      for await (const piece of piecesOf(file, signal)) {
        read += piece.length;
        identifying.push(this.stage.push(piece));
        if (identifying.length > PIECES_IDENTIFIED_AHEAD) await take(await identifying.shift()!);
        onBytes?.(read);
      }
      while (identifying.length > 0) await take(await identifying.shift()!);
    } finally {
      // After a failure, ids still pending must not count as unhandled rejections.
      for (const p of identifying) p.catch(() => undefined);
    }
    await take(await this.stage.endFile());
    return { chunks, size, newBytes };
  }

  private async queue(job: ChunkJob): Promise<void> {
    this.batch.push(job);
    this.batchBytes += job.data.length;
    // The first batch of each worker is a single chunk, so every worker starts at once instead of
    // waiting for BATCH_BYTES to be chunked; the others are full batches.
    if (this.batchBytes >= BATCH_BYTES || this.sent < this.pool.size) await this.send();
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }

  private async send(): Promise<void> {
    this.throwIfFailed();
    if (this.batch.length === 0) return;
    while (this.pending.size >= this.pool.size * MAX_PENDING_PER_WORKER) {
      await Promise.race(this.pending);
      this.throwIfFailed();
    }
    const jobs = this.batch;
    this.batch = [];
    this.batchBytes = 0;
    this.sent++;
    const worker = this.pool.leastBusy();
    const p = this.pool
      .run(worker, (api) => api.addChunks(transfer(jobs, buffersOf(jobs.map((j) => j.data)))))
      .then(async (packs) => {
        for (const pack of packs) await this.handOn(pack, worker);
      })
      .catch((error: unknown) => void (this.failure ??= { error }));
    const tracked: Promise<void> = p.finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }

  private async handOn(pack: EncodedPack, worker: PooledWorker): Promise<void> {
    this.madeBy.set(pack, worker);
    await this.onPack(pack);
  }

  /** Sends the last batch, flushes every worker's open pack and waits until all were handed on. */
  async finish(): Promise<void> {
    await this.send();
    // Each worker's flush queues behind its own batches at once (a worker runs its calls in
    // order), so a worker that is done codes its last pack while the others still work.
    const last = this.pool.all((api) => api.flush());
    // Awaited below; until then a rejection must not count as unhandled.
    last.catch(() => undefined);
    await Promise.all(this.pending);
    this.throwIfFailed();
    for (const [i, pack] of (await last).entries()) if (pack) await this.handOn(pack, this.pool.workers[i]!);
  }

  /**
   * Gives a pack's buffer back to the worker that coded it, for a later pack. Call only once
   * nothing reads the pack's shards any more: each was sent and acknowledged, or stored (e.g. in
   * the outbox: IndexedDB keeps its own copy), or dropped. The buffer is transferred, so every
   * shard of the pack becomes empty on this side. Optional: a pack never released is simply
   * collected.
   */
  release(pack: EncodedPack): void {
    const worker = this.madeBy.get(pack);
    if (!worker) return;
    this.madeBy.delete(pack);
    const buffers = buffersOf(pack.shards.slice(0, 1));
    // Not through `pool.run`: it is not a job, and must not count as load when batches are placed.
    void worker.api.recycle(transfer(buffers, buffers)).catch(() => undefined);
  }

  /** Waits for work in flight to settle (after a failure or cancel), ignoring its outcome. */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }
}
