/**
 * Key derivation: one BIP39 seed, one 32-byte key per purpose by HKDF-SHA256 with a distinct label
 * (never one key for two purposes). The same phrase gives the same keys on any device, so partners
 * recognise a restoring owner.
 *
 *   prk        = HKDF-Extract(salt = "backpact/v1/hkdf-salt", ikm = seed)
 *   key(label) = HKDF-Expand(prk, info = label, 32)
 *
 * Per-chunk and pack-header keys come from the data key the same way (no salt), see
 * {@link deriveDataSubkey}.
 */
import { DATA_SUBKEY_LABELS, HKDF_SALT, KEY_BYTES, KEY_LABELS } from '../constants.ts';
import { concatBytes, utf8 } from '../encoding/bytes.ts';
import { hkdfSha256 } from '../crypto/hash.ts';
import { InvalidArgumentError } from '../errors.ts';
import { identityFromPrivateKey, type IdentityKeyPair } from './identity.ts';
import { phraseToSeed, type RecoveryPhrase } from './phrase.ts';

/** Every key of one user. Raw bytes: import them into WebCrypto as non-extractable where used. */
export interface UserKeys {
  /** Ed25519 identity (signs root records, agreements, audit answers, link handshakes). */
  readonly identity: IdentityKeyPair;
  /** Root of per-chunk keys and the pack-header key. */
  readonly dataKey: Uint8Array;
  /** Encrypts snapshot manifests. */
  readonly indexKey: Uint8Array;
  /** HMAC key of chunk ids. */
  readonly dedupKey: Uint8Array;
  /** HMAC key of shard ids. */
  readonly shardNameKey: Uint8Array;
  /** Encrypts the root record. */
  readonly rootRecordKey: Uint8Array;
}

/** Names of the seed-derived keys. */
export type SeedKeyName = keyof typeof KEY_LABELS;

/** The 32-byte key for `name` from a BIP39 seed (64 bytes, or any ≥ 32-byte secret in tests). */
export function deriveSeedKey(seed: Uint8Array, name: SeedKeyName): Uint8Array {
  if (seed.length < 32) throw new InvalidArgumentError('seed must be at least 32 bytes');
  return hkdfSha256(seed, utf8(HKDF_SALT), utf8(KEY_LABELS[name]), KEY_BYTES);
}

/**
 * A key derived from the data key: HKDF-SHA256(ikm = dataKey, no salt, info = label ‖ context).
 * `context` distinguishes instances (the chunk id for a chunk key); empty for single keys.
 */
export function deriveDataSubkey(dataKey: Uint8Array, name: keyof typeof DATA_SUBKEY_LABELS, context: Uint8Array = new Uint8Array(0)): Uint8Array {
  return hkdfSha256(dataKey, undefined, concatBytes(utf8(DATA_SUBKEY_LABELS[name]), context), KEY_BYTES);
}

/** All of a user's keys from a BIP39 seed. */
export function deriveUserKeys(seed: Uint8Array): UserKeys {
  return {
    identity: identityFromPrivateKey(deriveSeedKey(seed, 'identity')),
    dataKey: deriveSeedKey(seed, 'data'),
    indexKey: deriveSeedKey(seed, 'index'),
    dedupKey: deriveSeedKey(seed, 'dedup'),
    shardNameKey: deriveSeedKey(seed, 'shardName'),
    rootRecordKey: deriveSeedKey(seed, 'rootRecord'),
  };
}

/** All of a user's keys from a validated phrase (and optional BIP39 passphrase). */
export async function keysFromPhrase(phrase: RecoveryPhrase, passphrase = ''): Promise<UserKeys> {
  return deriveUserKeys(await phraseToSeed(phrase, passphrase));
}
