/**
 * The recovery-phrase confirmation step: after the phrase is shown once, the person re-types three
 * words chosen at random, which shows they wrote it down before any data depends on it.
 */
import { InvalidArgumentError } from '../errors.ts';
import { cryptoRandomInt } from '../random.ts';

/** How many words are asked back. */
export const CONFIRM_WORD_COUNT = 3;

/**
 * Picks `count` distinct 0-based positions in a phrase of `length` words, in ascending order.
 * `random` returns a uniform integer in [0, n) (injected: crypto in the app, fixed in tests).
 */
export function pickConfirmationPositions(length: number, random: (n: number) => number, count = CONFIRM_WORD_COUNT): number[] {
  if (count > length) throw new InvalidArgumentError('cannot ask for more words than the phrase has');
  const picked = new Set<number>();
  while (picked.size < count) picked.add(random(length));
  return [...picked].sort((a, b) => a - b);
}

/** Normalises a typed word the way the word list spells words: trimmed, lower case. */
export function normaliseWord(word: string): string {
  return word.trim().toLowerCase().normalize('NFKD');
}

/**
 * The positions whose typed answer does not match the phrase (empty when all are right).
 * `answers[i]` is the word typed for `positions[i]`.
 */
export function wrongConfirmationWords(phrase: readonly string[], positions: readonly number[], answers: readonly string[]): number[] {
  return positions.filter((p, i) => normaliseWord(answers[i] ?? '') !== normaliseWord(phrase[p] ?? '\u0000'));
}

export { cryptoRandomInt };
