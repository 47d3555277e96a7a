import { readFileSync } from 'node:fs';
import { mnemonicToSeedSync } from '@scure/bip39';
import { describe, expect, it } from 'vitest';
import { KEY_LABELS } from '../constants.ts';
import { fromHex, toHex, utf8 } from '../encoding/bytes.ts';
import { InvalidPhraseError, PhraseChecksumError, UnknownWordError, WordCountError } from '../errors.ts';
import {
  deriveDataSubkey, deriveSeedKey, deriveUserKeys, generatePhrase, identityFromPrivateKey, importIdentitySigningKey,
  isPhraseWord, keysFromPhrase, peerIdFromPublicKey, peerIdMatchesKey, phraseFromEntropy, phraseToEntropy, phraseToSeed,
  phraseWordsStartingWith, safetyCode, signTagged, taggedSigningInput, validatePhrase, verifyTagged,
} from './index.ts';

interface Vector {
  entropy: string;
  mnemonic: string;
  seed: string;
}
const fixture = JSON.parse(readFileSync(new URL('./__fixtures__/bip39-vectors.json', import.meta.url), 'utf8')) as {
  passphrase: string;
  vectors: Vector[];
};

const PHRASE = 'absent gorilla van acoustic humor firm title dolphin bulk barely citizen recall crane moment aspect appear track phrase actual enforce steel spoon afraid benefit';

describe('BIP39 test vectors (passphrase "TREZOR")', () => {
  it('has the full English vector table', () => {
    expect(fixture.vectors).toHaveLength(24);
  });

  for (const v of fixture.vectors) {
    it(`entropy ↔ mnemonic ↔ seed for ${v.entropy.slice(0, 8)}… (${v.mnemonic.split(' ').length} words)`, async () => {
      const words = v.mnemonic.split(' ').length;
      expect(phraseFromEntropy(fromHex(v.entropy))).toBe(v.mnemonic);
      const phrase = validatePhrase(v.mnemonic, words);
      expect(toHex(phraseToEntropy(phrase))).toBe(v.entropy);
      expect(toHex(await phraseToSeed(phrase, fixture.passphrase))).toBe(v.seed);
    });
  }

  it('the JavaScript PBKDF2 fallback gives the same seed as WebCrypto', () => {
    const v = fixture.vectors[8]!;
    expect(toHex(mnemonicToSeedSync(v.mnemonic, fixture.passphrase))).toBe(v.seed);
  });
});

describe('recovery phrase', () => {
  it('generates 24 valid words from 256 bits of entropy', () => {
    const phrase = generatePhrase();
    expect(phrase.split(' ')).toHaveLength(24);
    expect(validatePhrase(phrase)).toBe(phrase);
    expect(phraseToEntropy(phrase)).toHaveLength(32);
    expect(generatePhrase()).not.toBe(phrase);
  });

  it('uses the injected randomness', () => {
    expect(generatePhrase((n) => new Uint8Array(n))).toBe(fixture.vectors[8]!.mnemonic);
  });

  it('normalises case and whitespace', () => {
    expect(validatePhrase(`  ${PHRASE.toUpperCase().replace(/ /g, ' \n\t ')}  `)).toBe(PHRASE);
  });

  it('names the unknown word and its position', () => {
    const words = PHRASE.split(' ');
    words[6] = 'tittle';
    const err = catchError(() => validatePhrase(words.join(' ')));
    expect(err).toBeInstanceOf(UnknownWordError);
    expect(err).toBeInstanceOf(InvalidPhraseError);
    expect(err).toMatchObject({ position: 7, word: 'tittle', code: 'phrase-unknown-word' });
    expect((err as Error).message).toContain('Word 7');
  });

  it('reports a wrong word count', () => {
    const err = catchError(() => validatePhrase(PHRASE.split(' ').slice(0, 23).join(' ')));
    expect(err).toBeInstanceOf(WordCountError);
    expect(err).toMatchObject({ count: 23, expected: 24 });
    expect(catchError(() => validatePhrase(''))).toBeInstanceOf(WordCountError);
  });

  it('reports a checksum mismatch when valid words are swapped or replaced', () => {
    const words = PHRASE.split(' ');
    [words[0], words[1]] = [words[1]!, words[0]!];
    expect(catchError(() => validatePhrase(words.join(' ')))).toBeInstanceOf(PhraseChecksumError);
    const last = PHRASE.split(' ');
    last[23] = last[23] === 'zoo' ? 'abandon' : 'zoo';
    expect(catchError(() => validatePhrase(last.join(' ')))).toBeInstanceOf(PhraseChecksumError);
  });

  it('offers word-list lookups for input helpers', () => {
    expect(isPhraseWord('Gorilla')).toBe(true);
    expect(isPhraseWord('gorillas')).toBe(false);
    expect(phraseWordsStartingWith('gori')).toEqual(['gorilla']);
    expect(phraseWordsStartingWith('')).toEqual([]);
  });
});

describe('key derivation', () => {
  it('the same phrase gives the same keys; a passphrase gives different ones', async () => {
    const phrase = validatePhrase(PHRASE);
    const a = await keysFromPhrase(phrase);
    const b = await keysFromPhrase(phrase);
    expect(a).toEqual(b);
    const c = await keysFromPhrase(phrase, 'extra');
    expect(toHex(c.dataKey)).not.toBe(toHex(a.dataKey));
    expect(c.identity.peerId).not.toBe(a.identity.peerId);
  });

  it('derives pairwise distinct keys, one per label', async () => {
    const keys = deriveUserKeys(await phraseToSeed(validatePhrase(PHRASE)));
    const all = [
      keys.identity.privateKey, keys.identity.publicKey, keys.dataKey, keys.indexKey, keys.dedupKey, keys.shardNameKey,
      keys.rootRecordKey, deriveDataSubkey(keys.dataKey, 'packHeader'), deriveDataSubkey(keys.dataKey, 'chunk', new Uint8Array(32)),
    ].map(toHex);
    expect(new Set(all).size).toBe(all.length);
    for (const k of all) expect(k).toHaveLength(64);
    expect(new Set(Object.values(KEY_LABELS)).size).toBe(Object.keys(KEY_LABELS).length);
  });

  it('matches the committed derivation (labels and HKDF layout are a format)', () => {
    const seed = fromHex(fixture.vectors[8]!.seed);
    const golden = JSON.parse(readFileSync(new URL('./__fixtures__/derived-keys.json', import.meta.url), 'utf8')) as Record<string, string>;
    const keys = deriveUserKeys(seed);
    expect({
      identityPrivate: toHex(keys.identity.privateKey),
      identityPublic: toHex(keys.identity.publicKey),
      peerId: keys.identity.peerId,
      data: toHex(keys.dataKey),
      index: toHex(keys.indexKey),
      dedup: toHex(keys.dedupKey),
      shardName: toHex(keys.shardNameKey),
      rootRecord: toHex(keys.rootRecordKey),
      packHeader: toHex(deriveDataSubkey(keys.dataKey, 'packHeader')),
      safetyCode: safetyCode(keys.identity.publicKey),
    }).toEqual(golden);
    expect(toHex(deriveSeedKey(seed, 'index'))).toBe(golden.index);
  });
});

describe('identity', () => {
  const id = identityFromPrivateKey(new Uint8Array(32).fill(7));
  const other = identityFromPrivateKey(new Uint8Array(32).fill(8));

  it('derives a 32-character base32 PeerId from the public key', () => {
    expect(id.peerId).toMatch(/^[a-z2-7]{32}$/);
    expect(peerIdFromPublicKey(id.publicKey)).toBe(id.peerId);
    expect(peerIdMatchesKey(id.peerId, id.publicKey)).toBe(true);
    expect(peerIdMatchesKey(id.peerId, other.publicKey)).toBe(false);
    expect(peerIdMatchesKey('not an id', id.publicKey)).toBe(false);
  });

  it('signs under a tag; the signature does not verify under another tag, key or message', () => {
    const msg = utf8('hello');
    const sig = signTagged(id.privateKey, 'backpact/v1/test', msg);
    expect(verifyTagged(id.publicKey, 'backpact/v1/test', msg, sig)).toBe(true);
    expect(verifyTagged(id.publicKey, 'backpact/v1/other', msg, sig)).toBe(false);
    expect(verifyTagged(other.publicKey, 'backpact/v1/test', msg, sig)).toBe(false);
    expect(verifyTagged(id.publicKey, 'backpact/v1/test', utf8('hellO'), sig)).toBe(false);
    const bad = sig.slice();
    bad[10]! ^= 1;
    expect(verifyTagged(id.publicKey, 'backpact/v1/test', msg, bad)).toBe(false);
    expect(verifyTagged(id.publicKey, 'backpact/v1/test', msg, sig.subarray(1))).toBe(false);
  });

  it('imports into WebCrypto as a non-extractable key that signs identically', async () => {
    const key = await importIdentitySigningKey(id);
    // Node 20 and current browsers support Ed25519 in WebCrypto.
    expect(key).not.toBeNull();
    expect(key!.extractable).toBe(false);
    const msg = utf8('challenge');
    const sig = new Uint8Array(await crypto.subtle.sign('Ed25519', key!, taggedSigningInput('backpact/v1/test', msg) as Uint8Array<ArrayBuffer>));
    expect(toHex(sig)).toBe(toHex(signTagged(id.privateKey, 'backpact/v1/test', msg)));
  });
});

describe('safety code', () => {
  const a = identityFromPrivateKey(new Uint8Array(32).fill(1)).publicKey;
  const b = identityFromPrivateKey(new Uint8Array(32).fill(2)).publicKey;

  it('is 12 digits in groups of four', () => {
    expect(safetyCode(a)).toMatch(/^\d{4} \d{4} \d{4}$/);
    expect(safetyCode(a, b)).toMatch(/^\d{4} \d{4} \d{4}$/);
  });

  it('does not depend on the order of the pair, and differs from each single code', () => {
    expect(safetyCode(a, b)).toBe(safetyCode(b, a));
    expect(safetyCode(a, b)).not.toBe(safetyCode(a));
    expect(safetyCode(a)).not.toBe(safetyCode(b));
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}

