import { describe, expect, it } from 'vitest';
import { cryptoRandomInt, pickConfirmationPositions, wrongConfirmationWords } from './confirm.ts';

const phrase = Array.from({ length: 24 }, (_, i) => `word${i}`);

describe('phrase confirmation', () => {
  it('picks three distinct positions in range, sorted', () => {
    for (let t = 0; t < 200; t++) {
      const p = pickConfirmationPositions(24, cryptoRandomInt);
      expect(p).toHaveLength(3);
      expect(new Set(p).size).toBe(3);
      expect(p).toEqual([...p].sort((a, b) => a - b));
      expect(p.every((x) => x >= 0 && x < 24)).toBe(true);
    }
  });

  it('accepts the right words (case and spaces ignored) and names each wrong one', () => {
    expect(wrongConfirmationWords(phrase, [2, 9, 20], ['word2', ' WORD9 ', 'word20'])).toEqual([]);
    expect(wrongConfirmationWords(phrase, [2, 9, 20], ['word2', 'word8', ''])).toEqual([9, 20]);
    expect(wrongConfirmationWords(phrase, [2, 9, 20], [])).toEqual([2, 9, 20]);
  });

  it('draws uniformly enough over small ranges', () => {
    const counts = [0, 0, 0];
    for (let i = 0; i < 3000; i++) counts[cryptoRandomInt(3)]!++;
    for (const c of counts) expect(c).toBeGreaterThan(850);
  });
});
