/**
 * An in-memory {@link LinkTransport} pair for tests of the link protocol in Node: reliable,
 * ordered, with a simulated bandwidth so `bufferedAmount` and `bufferedamountlow` behave as on a
 * data channel, Chromium's 16 MiB queue limit, and configurable DTLS fingerprints so a
 * man-in-the-middle (each side seeing a different certificate pair) can be simulated.
 */
import type { Fingerprint } from '../binding.ts';
import type { LinkTransport } from '../link.ts';

/** Chromium's per-channel send queue: `send` throws beyond it. */
const QUEUE_LIMIT = 16 * 1024 * 1024;

type Handlers = Parameters<LinkTransport['attach']>[0];

/** A fingerprint for tests: `sha-256` of 32 bytes all `n`. */
export function testFingerprint(n: number): Fingerprint {
  return { algorithm: 'sha-256', digest: new Uint8Array(32).fill(n) };
}

/** Options of {@link memoryTransportPair}. */
export interface MemoryTransportOptions {
  /** Bytes delivered per scheduler tick in each direction (simulated bandwidth). */
  bytesPerTick?: number;
  /** What each side sees as (local, remote) fingerprints. Default: a consistent pair. */
  fingerprints?: { a: { local: Fingerprint; remote: Fingerprint }; b: { local: Fingerprint; remote: Fingerprint } };
}

/** One end of an in-memory transport. */
export class MemoryTransport implements LinkTransport {
  bufferedAmount = 0;
  /** Highest `bufferedAmount` ever reached (for back-pressure assertions). */
  maxBufferedAmount = 0;
  peer!: MemoryTransport;
  closed = false;
  private low = 0;
  private handlers: Handlers | null = null;
  private readonly inbox: Uint8Array[] = [];
  private readonly outbox: Uint8Array[] = [];
  private pumping = false;
  private closeDelivered = false;

  constructor(
    private readonly fps: { local: Fingerprint; remote: Fingerprint },
    private readonly bytesPerTick: number,
  ) {}

  send(message: Uint8Array): void {
    if (this.closed) throw new Error('InvalidStateError: the transport is closed');
    if (this.bufferedAmount + message.length > QUEUE_LIMIT) throw new Error('OperationError: send queue is full');
    // Copy, as the wire would: the sender may reuse its buffer.
    this.outbox.push(message.slice());
    this.bufferedAmount += message.length;
    this.maxBufferedAmount = Math.max(this.maxBufferedAmount, this.bufferedAmount);
    this.schedule();
  }

  setLowWaterMark(bytes: number): void {
    this.low = bytes;
  }

  attach(handlers: Handlers): void {
    this.handlers = handlers;
    for (const m of this.inbox.splice(0)) handlers.onMessage(m);
    if (this.closed && !this.closeDelivered) this.deliverClose();
  }

  fingerprints(): { local: Fingerprint; remote: Fingerprint } {
    return this.fps;
  }

  /** Graceful close: queued messages are still delivered, then the peer sees the close. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.deliverClose();
    this.schedule();
  }

  /** Abrupt loss (network gone): queued messages are dropped and both ends see a close. */
  kill(): void {
    this.outbox.length = 0;
    this.bufferedAmount = 0;
    this.peer.outbox.length = 0;
    this.peer.bufferedAmount = 0;
    if (!this.closed) {
      this.closed = true;
      this.deliverClose();
    }
    if (!this.peer.closed) {
      this.peer.closed = true;
      this.peer.deliverClose();
    }
  }

  /** Delivers `message` to this end as if the peer had sent it (bypasses the peer's link). */
  inject(message: Uint8Array): void {
    this.receive(message);
  }

  private receive(m: Uint8Array): void {
    if (this.closeDelivered) return;
    if (this.handlers) this.handlers.onMessage(m);
    else this.inbox.push(m);
  }

  private deliverClose(): void {
    if (this.closeDelivered || !this.handlers) return;
    this.closeDelivered = true;
    this.handlers.onClose();
  }

  private schedule(): void {
    if (this.pumping) return;
    this.pumping = true;
    setTimeout(() => this.pump(), 0);
  }

  private pump(): void {
    this.pumping = false;
    let budget = this.bytesPerTick;
    const before = this.bufferedAmount;
    while (this.outbox.length > 0 && budget > 0) {
      const m = this.outbox.shift()!;
      budget -= m.length;
      this.bufferedAmount -= m.length;
      this.peer.receive(m);
    }
    if (before > this.low && this.bufferedAmount <= this.low) this.handlers?.onDrain();
    if (this.outbox.length > 0) this.schedule();
    else if (this.closed && !this.peer.closed) {
      this.peer.closed = true;
      this.peer.deliverClose();
    }
  }
}

/** Two connected transports. */
export function memoryTransportPair(opts: MemoryTransportOptions = {}): [MemoryTransport, MemoryTransport] {
  const fa = testFingerprint(0xaa);
  const fb = testFingerprint(0xbb);
  const fps = opts.fingerprints ?? { a: { local: fa, remote: fb }, b: { local: fb, remote: fa } };
  const bytesPerTick = opts.bytesPerTick ?? 1024 * 1024;
  const a = new MemoryTransport(fps.a, bytesPerTick);
  const b = new MemoryTransport(fps.b, bytesPerTick);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
