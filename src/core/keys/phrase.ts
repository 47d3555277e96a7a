/**
 * Recovery phrases: 24 BIP39 English words (256-bit entropy) via @scure/bip39, validated with
 * typed errors a form can show ("word 7 is not a recovery-phrase word"), and turned into the
 * 64-byte BIP39 seed (PBKDF2-HMAC-SHA512, 2048 rounds, optional passphrase).
 */
import { entropyToMnemonic, mnemonicToEntropy, mnemonicToSeed, mnemonicToSeedWebcrypto } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { PHRASE_ENTROPY_BITS, PHRASE_WORDS } from '../constants.ts';
import { InvalidArgumentError, PhraseChecksumError, UnknownWordError, WordCountError } from '../errors.ts';
import type { Brand } from '../ids.ts';

/** A validated phrase in canonical form: lower-case words separated by single spaces. */
export type RecoveryPhrase = Brand<string, 'RecoveryPhrase'>;

const WORDS = new Set(wordlist);

/** Splits user input into normalised words (NFKD, lower case, any whitespace). */
export function phraseWords(input: string): string[] {
  return input.normalize('NFKD').toLowerCase().split(/\s+/u).filter((w) => w.length > 0);
}

/** True when `word` (any case) is one of the 2048 BIP39 English words. */
export function isPhraseWord(word: string): boolean {
  return WORDS.has(word.normalize('NFKD').toLowerCase());
}

/** Up to `limit` BIP39 words starting with `prefix`, for autocompletion while typing a phrase. */
export function phraseWordsStartingWith(prefix: string, limit = 8): string[] {
  const p = prefix.normalize('NFKD').toLowerCase();
  if (p.length === 0) return [];
  const out: string[] = [];
  for (const w of wordlist) {
    if (w.startsWith(p)) {
      out.push(w);
      if (out.length >= limit) break;
    }
  }
  return out;
}

/**
 * The phrase encoding `entropy` (16–32 bytes, a multiple of 4). Throws
 * {@link InvalidArgumentError} for other lengths.
 */
export function phraseFromEntropy(entropy: Uint8Array): RecoveryPhrase {
  if (entropy.length < 16 || entropy.length > 32 || entropy.length % 4 !== 0) {
    throw new InvalidArgumentError('BIP39 entropy must be 16, 20, 24, 28 or 32 bytes');
  }
  return entropyToMnemonic(entropy, wordlist) as RecoveryPhrase;
}

/**
 * A new 24-word phrase from 256 bits of entropy. `random` defaults to
 * `crypto.getRandomValues`; tests inject fixed bytes.
 */
export function generatePhrase(random: (length: number) => Uint8Array = defaultRandom): RecoveryPhrase {
  const entropy = random(PHRASE_ENTROPY_BITS / 8);
  if (entropy.length !== PHRASE_ENTROPY_BITS / 8) throw new InvalidArgumentError('random source returned the wrong length');
  return phraseFromEntropy(entropy);
}

function defaultRandom(length: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(length));
}

/**
 * Validates user input as a phrase of `expectedWords` words (24 unless told) and returns it in
 * canonical form. Checks, in this order so the most specific problem is reported:
 * 1. every word is a BIP39 English word, else {@link UnknownWordError} (1-based position, word);
 * 2. the word count, else {@link WordCountError};
 * 3. the BIP39 checksum, else {@link PhraseChecksumError}.
 */
export function validatePhrase(input: string, expectedWords: number = PHRASE_WORDS): RecoveryPhrase {
  const words = phraseWords(input);
  for (let i = 0; i < words.length; i++) {
    if (!WORDS.has(words[i]!)) throw new UnknownWordError(i + 1, words[i]!);
  }
  if (words.length !== expectedWords) throw new WordCountError(words.length, expectedWords);
  const phrase = words.join(' ');
  try {
    mnemonicToEntropy(phrase, wordlist);
  } catch {
    throw new PhraseChecksumError();
  }
  return phrase as RecoveryPhrase;
}

/** The entropy a valid phrase encodes (the inverse of {@link phraseFromEntropy}). */
export function phraseToEntropy(phrase: RecoveryPhrase): Uint8Array {
  return mnemonicToEntropy(phrase, wordlist);
}

/**
 * The 64-byte BIP39 seed of a validated phrase and optional passphrase. Uses WebCrypto's PBKDF2
 * when present (about 10× faster than JavaScript), else @noble/hashes; both give the same bytes.
 */
export async function phraseToSeed(phrase: RecoveryPhrase, passphrase = ''): Promise<Uint8Array> {
  if (globalThis.crypto?.subtle) return mnemonicToSeedWebcrypto(phrase, passphrase);
  return mnemonicToSeed(phrase, passphrase);
}
