import { describe, expect, it } from 'vitest';
import { formatWhen } from './format.ts';

describe('formatWhen', () => {
  // Local times, so the test holds in any time zone.
  const now = new Date(2026, 10, 25, 12, 0).getTime();

  it('says today, tomorrow, a weekday or a date', () => {
    expect(formatWhen(now - 5000, now)).toBe('now');
    expect(formatWhen(new Date(2026, 10, 25, 18, 0).getTime(), now)).toBe('today at 18:00');
    expect(formatWhen(new Date(2026, 10, 26, 7, 5).getTime(), now)).toBe('tomorrow at 07:05');
    expect(formatWhen(new Date(2026, 10, 30, 9, 0).getTime(), now)).toBe('on Monday at 09:00');
    expect(formatWhen(new Date(2026, 11, 3, 9, 0).getTime(), now)).toBe('on 3 Dec at 09:00');
  });
});
