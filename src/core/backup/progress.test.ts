import { describe, expect, it } from 'vitest';
import { RateMeter } from './progress.ts';

describe('rate meter', () => {
  it('has no rate before two samples, then follows a steady rate', () => {
    const m = new RateMeter(1000);
    expect(m.secondsLeft(100)).toBeNull();
    m.sample(0, 0);
    for (let t = 1; t <= 10; t++) m.sample(t * 1000, t * 1000);
    expect(m.bytesPerSecond).toBeCloseTo(1000);
    expect(m.secondsLeft(5000)).toBeCloseTo(5);
    expect(m.secondsLeft(0)).toBe(0);
  });

  it('reacts to a stall within a few half-lives', () => {
    const m = new RateMeter(1000);
    m.sample(0, 0);
    m.sample(10_000, 1000);
    for (let t = 2; t <= 5; t++) m.sample(10_000, t * 1000);
    expect(m.bytesPerSecond).toBeLessThan(1000);
  });
});
