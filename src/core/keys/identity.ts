/**
 * The identity key pair (Ed25519) and everything derived from its public key: the PeerId and
 * signatures. Signing and verification use @noble/curves so they work everywhere (Node tests,
 * workers, browsers without WebCrypto Ed25519); {@link importIdentitySigningKey} additionally
 * offers a non-extractable WebCrypto key where the platform supports Ed25519.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { KEY_BYTES, PEER_ID_BYTES } from '../constants.ts';
import { concatBytes, fromBase32, toBase32, utf8 } from '../encoding/bytes.ts';
import { taggedHash } from '../crypto/hash.ts';
import { InvalidArgumentError } from '../errors.ts';
import { asPeerId, type PeerId } from '../ids.ts';

/** Tag of the PeerId hash (FORMAT). */
export const PEER_ID_TAG = 'backpact/v1/peer-id';

/** An Ed25519 identity. `privateKey` is the RFC 8032 32-byte secret; keep it in memory only. */
export interface IdentityKeyPair {
  readonly privateKey: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly peerId: PeerId;
}

/**
 * PeerId of an Ed25519 public key: base32 (RFC 4648, lower case, no padding) of the first 20 bytes
 * of SHA-256("backpact/v1/peer-id" ‖ 0x00 ‖ publicKey). 32 characters.
 */
export function peerIdFromPublicKey(publicKey: Uint8Array): PeerId {
  if (publicKey.length !== 32) throw new InvalidArgumentError('an Ed25519 public key is 32 bytes');
  return asPeerId(toBase32(taggedHash(PEER_ID_TAG, publicKey).subarray(0, PEER_ID_BYTES)));
}

/** True when `peerId` is the id of `publicKey` (use before trusting a key someone claims). */
export function peerIdMatchesKey(peerId: string, publicKey: Uint8Array): boolean {
  try {
    fromBase32(peerId);
    return publicKey.length === 32 && peerIdFromPublicKey(publicKey) === peerId;
  } catch {
    return false;
  }
}

/** The identity whose RFC 8032 secret is `privateKey` (32 bytes). */
export function identityFromPrivateKey(privateKey: Uint8Array): IdentityKeyPair {
  if (privateKey.length !== KEY_BYTES) throw new InvalidArgumentError('an Ed25519 private key is 32 bytes');
  const publicKey = ed25519.getPublicKey(privateKey);
  return { privateKey, publicKey, peerId: peerIdFromPublicKey(publicKey) };
}

/** The bytes a tagged signature covers: utf8(tag) ‖ 0x00 ‖ message (for signers that take raw bytes). */
export function taggedMessage(tag: string, message: Uint8Array): Uint8Array {
  if (tag.includes('\0')) throw new InvalidArgumentError('a signature tag must not contain NUL');
  return concatBytes(utf8(tag), new Uint8Array([0]), message);
}

/**
 * Signs `message` under a single-purpose `tag` (e.g. `backpact/v1/root-record`): the signed
 * bytes are utf8(tag) ‖ 0x00 ‖ message, so a signature made for one purpose never verifies for
 * another. Every Backpact signature must go through this.
 */
export function signTagged(privateKey: Uint8Array, tag: string, message: Uint8Array): Uint8Array {
  return ed25519.sign(taggedMessage(tag, message), privateKey);
}

/** Verifies a {@link signTagged} signature. Returns false (never throws) on any malformed input. */
export function verifyTagged(publicKey: Uint8Array, tag: string, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    return signature.length === 64 && publicKey.length === 32 && ed25519.verify(signature, taggedMessage(tag, message), publicKey);
  } catch {
    return false;
  }
}

function base64url(bytes: Uint8Array): string {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * Imports the identity's private key into WebCrypto as a non-extractable Ed25519 signing key, so
 * code holding only the `CryptoKey` (e.g. stored in IndexedDB) cannot read the secret. Resolves
 * null where WebCrypto lacks Ed25519. Signatures equal {@link signTagged}'s for the same bytes
 * (Ed25519 is deterministic), so callers must still prepend the tag themselves.
 */
export async function importIdentitySigningKey(identity: IdentityKeyPair): Promise<CryptoKey | null> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) return null;
  try {
    return await subtle.importKey(
      'jwk',
      { kty: 'OKP', crv: 'Ed25519', d: base64url(identity.privateKey), x: base64url(identity.publicKey) },
      { name: 'Ed25519' },
      false,
      ['sign'],
    );
  } catch {
    return null;
  }
}

/** Bytes {@link signTagged} signs, for signing with a WebCrypto key from {@link importIdentitySigningKey}. */
export function taggedSigningInput(tag: string, message: Uint8Array): Uint8Array {
  return taggedMessage(tag, message);
}
