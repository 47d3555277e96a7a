/**
 * Body streams of the link protocol: credit-based flow control per stream. A receiver holds at
 * most one window of unread bytes per stream and returns credit as its consumer reads, so a fast
 * sender can never make a slow receiver buffer more than {@link STREAM_WINDOW_BYTES}.
 */
import { CREDIT_GRANT_BYTES, STREAM_WINDOW_BYTES } from './constants.ts';

/** Bytes of a body to send: one buffer, or chunks from a (possibly async) iterable. */
export type BodySource = Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

/** Iterates a {@link BodySource} as chunks. */
export async function* chunksOf(source: BodySource): AsyncGenerator<Uint8Array> {
  if (source instanceof Uint8Array) {
    yield source;
    return;
  }
  for await (const chunk of source as AsyncIterable<Uint8Array>) yield chunk;
}

/**
 * Sender side of a stream's window: how many more body bytes may be sent before the receiver
 * grants more. Writers wait in {@link acquire} when the window is exhausted.
 */
export class SendCredit {
  private available: number;
  private waiter: { resolve: () => void; reject: (e: unknown) => void } | null = null;
  private failure: unknown = null;

  constructor(initial = STREAM_WINDOW_BYTES) {
    this.available = initial;
  }

  /** Adds credit granted by the receiver. */
  add(bytes: number): void {
    this.available += bytes;
    const w = this.waiter;
    this.waiter = null;
    w?.resolve();
  }

  /** Resolves with how many bytes (1..`want`) may be sent now, waiting for credit if there is none. */
  async acquire(want: number): Promise<number> {
    while (this.available <= 0) {
      if (this.failure) throw this.failure;
      await new Promise<void>((resolve, reject) => {
        this.waiter = { resolve, reject };
      });
    }
    if (this.failure) throw this.failure;
    const n = Math.min(want, this.available);
    this.available -= n;
    return n;
  }

  /** Makes current and future {@link acquire} calls fail with `err` (stream cancelled or link closed). */
  fail(err: unknown): void {
    if (this.failure) return;
    this.failure = err;
    const w = this.waiter;
    this.waiter = null;
    w?.reject(err);
  }
}

/**
 * A body being received: an async iterable of chunks. Iterate it (or call {@link bytes}) to read;
 * reading returns credit to the sender. Breaking out of the iteration, or {@link cancel}, tells
 * the link to cancel the stream.
 */
export class IncomingBody implements AsyncIterable<Uint8Array> {
  private readonly chunks: Uint8Array[] = [];
  private head = 0;
  private received = 0;
  private granted = 0;
  private consumedSinceGrant = 0;
  private ended = false;
  private failure: unknown = null;
  private waiter: (() => void) | null = null;
  private iterating = false;
  /** Monotonic time of the last received frame, for the link's idle check. */
  lastActivity = 0;

  /**
   * @param grant sends a credit frame for `bytes` to the sender
   * @param onCancel tells the link the reader gave up
   * @param window receive window agreed by the protocol
   */
  constructor(
    private readonly grant: (bytes: number) => void,
    private readonly onCancel: () => void,
    private readonly window = STREAM_WINDOW_BYTES,
  ) {}

  /** True once the stream ended, failed or was cancelled. */
  get done(): boolean {
    return this.ended || this.failure !== null;
  }

  /**
   * Adds a received chunk. Returns false when it exceeds the granted window — a flow-control
   * violation by the sender, which the link treats as a protocol error. Chunks after the end are
   * ignored (a cancelled stream may still have frames in flight).
   */
  push(bytes: Uint8Array, now: number): boolean {
    if (this.done) return true;
    if (this.received + bytes.length - this.granted > this.window) return false;
    this.received += bytes.length;
    this.lastActivity = now;
    this.chunks.push(bytes);
    this.wake();
    return true;
  }

  /** Marks the normal end of the stream. */
  end(): void {
    if (this.done) return;
    this.ended = true;
    this.wake();
  }

  /** Fails the stream: the reader's next read throws `err`. */
  fail(err: unknown): void {
    if (this.done) return;
    this.failure = err;
    this.chunks.length = 0;
    this.head = 0;
    this.wake();
  }

  /** Stops reading: buffered chunks are dropped and the sender is told to stop. */
  cancel(): void {
    if (this.done) return;
    this.failure = new Error('body cancelled by the reader');
    this.chunks.length = 0;
    this.head = 0;
    this.wake();
    this.onCancel();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    if (this.iterating) throw new TypeError('a body can be read only once');
    this.iterating = true;
    let finished = false;
    try {
      for (;;) {
        if (this.head < this.chunks.length) {
          const chunk = this.chunks[this.head]!;
          this.chunks[this.head++] = EMPTY;
          if (this.head > 1024 && this.head * 2 > this.chunks.length) {
            this.chunks.splice(0, this.head);
            this.head = 0;
          }
          this.consumed(chunk.length);
          yield chunk;
          continue;
        }
        if (this.failure) throw this.failure;
        if (this.ended) {
          finished = true;
          return;
        }
        await new Promise<void>((resolve) => {
          this.waiter = resolve;
        });
      }
    } finally {
      if (!finished && !this.done) this.cancel();
    }
  }

  /**
   * Reads the whole body into one buffer; fails with a RangeError beyond `maxBytes`. With
   * `expectedBytes` (a size the peer announced, at most `maxBytes`) the buffer is allocated once
   * up front and each chunk is copied into it as it is read, so received frames are released at
   * once and nothing is concatenated at the end; a body longer than announced fails with a
   * RangeError, a shorter one resolves with what came (the caller compares the length).
   */
  async bytes(maxBytes = 256 * 1024 * 1024, expectedBytes?: number): Promise<Uint8Array> {
    if (expectedBytes !== undefined && Number.isSafeInteger(expectedBytes) && expectedBytes >= 0 && expectedBytes <= maxBytes) {
      const out = new Uint8Array(expectedBytes);
      let o = 0;
      for await (const chunk of this) {
        if (chunk.length > expectedBytes - o) {
          this.cancel();
          throw new RangeError(`body exceeds the ${expectedBytes} bytes announced`);
        }
        out.set(chunk, o);
        o += chunk.length;
      }
      return o === expectedBytes ? out : out.subarray(0, o);
    }
    const parts: Uint8Array[] = [];
    let total = 0;
    for await (const chunk of this) {
      total += chunk.length;
      if (total > maxBytes) {
        this.cancel();
        throw new RangeError(`body exceeds ${maxBytes} bytes`);
      }
      parts.push(chunk);
    }
    const out = new Uint8Array(total);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }

  private consumed(n: number): void {
    this.consumedSinceGrant += n;
    if (this.consumedSinceGrant >= CREDIT_GRANT_BYTES && !this.done) {
      this.granted += this.consumedSinceGrant;
      this.grant(this.consumedSinceGrant);
      this.consumedSinceGrant = 0;
    }
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }
}

const EMPTY = new Uint8Array(0);
