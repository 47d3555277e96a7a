/**
 * Rate and time-left estimates for progress bars. The rate is an exponentially weighted moving
 * average of recent throughput (so a pause while partners catch up shows at once, and a burst
 * does not promise an absurd finish); time left is what remains at that rate.
 */

/** Half-life of the rate average, ms: about the last few seconds count. */
export const RATE_HALF_LIFE_MS = 3000;

/** Measures a byte counter over time. Pass a clock in tests. */
export class RateMeter {
  private lastAt: number | null = null;
  private lastBytes = 0;
  private average = 0;

  constructor(private readonly halfLifeMs = RATE_HALF_LIFE_MS) {}

  /** Records the counter's value `bytes` (monotonic) at time `now` (ms). */
  sample(bytes: number, now: number): void {
    if (this.lastAt === null) {
      this.lastAt = now;
      this.lastBytes = bytes;
      return;
    }
    const dt = now - this.lastAt;
    if (dt <= 0) return;
    const instant = ((bytes - this.lastBytes) * 1000) / dt;
    const w = 1 - Math.pow(0.5, dt / this.halfLifeMs);
    this.average = this.average === 0 ? instant : this.average + w * (instant - this.average);
    this.lastAt = now;
    this.lastBytes = bytes;
  }

  /** Bytes per second (0 until two samples). */
  get bytesPerSecond(): number {
    return this.average;
  }

  /** Seconds to move `remaining` bytes at the current rate; null when there is no rate yet. */
  secondsLeft(remaining: number): number | null {
    if (remaining <= 0) return 0;
    return this.average > 0 ? remaining / this.average : null;
  }
}
