/**
 * A small pool of pack buffers, so a long backup reuses the same few large ArrayBuffers instead of
 * allocating a fresh one (~12–24 MiB) for every pack.
 *
 * Why: a fresh large buffer costs more than the bytes written into it — the kernel maps and zeroes
 * new pages (page faults), and the engine counts it as external memory, which is what schedules
 * full garbage collections when a thread allocates hundreds of MiB per second. Measured in
 * `npm run bench -- core-pipeline` (DESIGN §4.14).
 *
 * Rules (the caller's contract):
 * - {@link BufferPool.give} only a buffer nothing reads or writes any more: every shard of its
 *   pack has been sent and acknowledged, stored (IndexedDB clones what it stores) or dropped. In
 *   the app a pack's buffer goes back to its worker by transfer, which detaches it on the page, so
 *   a view kept by mistake reads as empty there instead of seeing the next pack's bytes.
 * - A taken buffer holds old bytes: the pack writer overwrites every byte that becomes part of a
 *   pack or a shard (blobs, header, tail, zeroed padding, parity), never relying on zeroes.
 */
import { InvalidArgumentError } from '../errors.ts';

/** Default number of free buffers a pool keeps (more given back are left to the garbage collector). */
export const DEFAULT_POOL_BUFFERS = 3;

/** Free ArrayBuffers for reuse; see the module comment for the contract. */
export class BufferPool {
  private readonly free: ArrayBuffer[] = [];
  /** Buffers handed out again, and taken fresh (for tests and benchmarks). */
  readonly stats = { reused: 0, allocated: 0 };

  constructor(readonly maxBuffers: number = DEFAULT_POOL_BUFFERS) {
    if (!Number.isInteger(maxBuffers) || maxBuffers < 0) throw new InvalidArgumentError('maxBuffers must be a non-negative integer');
  }

  /** Free buffers held now. */
  get size(): number {
    return this.free.length;
  }

  /**
   * A view of exactly `bytes` bytes at the start of a free buffer at least that long (and at most
   * twice, so a small pack does not pin a large buffer), or of a new zeroed one.
   */
  take(bytes: number): Uint8Array<ArrayBuffer> {
    if (!Number.isInteger(bytes) || bytes < 0) throw new InvalidArgumentError('buffer size must be a non-negative integer');
    const i = this.free.findIndex((b) => b.byteLength >= bytes && b.byteLength <= 2 * bytes);
    if (i >= 0) {
      const [buffer] = this.free.splice(i, 1);
      this.stats.reused++;
      return new Uint8Array(buffer!, 0, bytes);
    }
    this.stats.allocated++;
    return new Uint8Array(bytes);
  }

  /**
   * Gives a buffer back for reuse. Detached or empty buffers, shared memory, one already held, and
   * any beyond {@link maxBuffers} are ignored.
   */
  give(buffer: ArrayBufferLike): void {
    if (!(buffer instanceof ArrayBuffer) || buffer.byteLength === 0) return;
    if (this.free.length >= this.maxBuffers || this.free.includes(buffer)) return;
    this.free.push(buffer);
  }

  /** Drops every free buffer. */
  clear(): void {
    this.free.length = 0;
  }
}
