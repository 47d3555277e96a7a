/**
 * Signing with the identity key as stored under `kv/identity` (see identity.ts): a non-extractable
 * WebCrypto key where the browser has Ed25519, the raw private key otherwise. Kept apart from
 * identity.ts so the service worker can sign without loading the phrase and key-derivation code.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import type { IDBPDatabase } from 'idb';
import type { LinkIdentity } from '../p2p/identity.ts';
import type { BackpactDB } from '../store/db.ts';

/** The signing part of the stored identity. */
export interface StoredSigningKey {
  publicKey: Uint8Array;
  /** Non-extractable signing key, or null where WebCrypto lacks Ed25519. */
  signingKey: CryptoKey | null;
  /** Only where `signingKey` is null. */
  privateKey: Uint8Array | null;
}

/** Signs `message` as is (RFC 8032 Ed25519) with the stored key. */
export function rawSigner(s: StoredSigningKey): (message: Uint8Array) => Promise<Uint8Array> {
  return async (message) => {
    if (s.signingKey) return new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, s.signingKey, message as Uint8Array<ArrayBuffer>));
    if (!s.privateKey) throw new Error('the stored identity has no signing key');
    return ed25519.sign(message, s.privateKey);
  };
}

/** This device's identity as the peer-to-peer layer signs with it, or null before one exists. */
export async function storedLinkIdentity(db: IDBPDatabase<BackpactDB>): Promise<LinkIdentity | null> {
  const s = (await db.get('kv', 'identity')) as StoredSigningKey | undefined;
  if (!s?.publicKey) return null;
  return { publicKey: s.publicKey, sign: rawSigner(s) };
}
