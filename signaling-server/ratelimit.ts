/**
 * A token bucket: `capacity` tokens, refilled continuously at `perSecond`. Each accepted
 * message takes one. The clock is injected so tests need no sleeps.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  /**
   * @param perSecond sustained rate (tokens per second), > 0
   * @param capacity burst size; the bucket starts full
   * @param now clock in milliseconds (monotonic where possible)
   */
  constructor(
    private readonly perSecond: number,
    private readonly capacity: number,
    private readonly now: () => number,
  ) {
    this.tokens = capacity;
    this.last = now();
  }

  /** Takes one token if there is one; returns false (and takes nothing) otherwise. */
  take(): boolean {
    const t = this.now();
    const elapsed = t - this.last;
    if (elapsed > 0) {
      this.tokens = Math.min(this.capacity, this.tokens + (elapsed * this.perSecond) / 1000);
      this.last = t;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
