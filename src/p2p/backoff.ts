/**
 * Exponential back-off with jitter for reconnects. The n-th delay is drawn uniformly from
 * [cap/2, cap] where cap = min(max, initial · factor^n) ("equal jitter"): never a near-zero
 * retry storm, and clients that lost the same server at the same moment spread out.
 */

/** Back-off parameters. */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor: number;
  /** Uniform random in [0, 1); injected by tests. */
  random?: () => number;
}

/** A back-off sequence; {@link reset} after a success. */
export class Backoff {
  private attempt = 0;

  constructor(private readonly opts: BackoffOptions) {}

  /** The delay before the next attempt, in ms; each call advances the sequence. */
  next(): number {
    const cap = Math.min(this.opts.maxMs, this.opts.initialMs * this.opts.factor ** this.attempt);
    if (cap < this.opts.maxMs) this.attempt++;
    const r = (this.opts.random ?? Math.random)();
    return Math.round(cap / 2 + (r * cap) / 2);
  }

  /** Attempts made since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  /** Starts again from the initial delay. */
  reset(): void {
    this.attempt = 0;
  }
}
