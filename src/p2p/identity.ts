/**
 * The identity the peer-to-peer layer signs with, as an injected interface (the real one comes
 * from `src/core`'s key derivation), plus Ed25519 verification: WebCrypto where the platform has
 * it (Chromium, Node 20), `@noble/curves` otherwise.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { fromBase64Url, toBase64Url } from '../protocol/encoding.ts';
import { isAcceptablePublicKey } from '../protocol/keys.ts';
import type { SignalingId } from '../protocol/signaling.ts';

/**
 * An Ed25519 identity. `sign` must produce a standard RFC 8032 signature with the private key of
 * `publicKey`; it may be slow (a worker, a hardware key) but must not be called concurrently
 * with itself more than the caller needs.
 */
export interface LinkIdentity {
  /** 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
  /** Signs `message`; resolves with the 64-byte signature. */
  sign(message: Uint8Array): Promise<Uint8Array>;
}

/** The signaling id of a public key (canonical base64url). */
export function signalingIdOf(publicKey: Uint8Array): SignalingId {
  return toBase64Url(publicKey) as SignalingId;
}

/** The public key named by an id. */
export function publicKeyOf(id: SignalingId): Uint8Array {
  const key = fromBase64Url(id);
  if (!key || key.length !== 32) throw new TypeError('not a signaling id');
  return key;
}

type Subtle = Pick<SubtleCrypto, 'importKey' | 'verify' | 'sign' | 'generateKey' | 'exportKey'>;

function subtle(): Subtle | undefined {
  return globalThis.crypto?.subtle;
}

let webCryptoEd25519: boolean | undefined;

/**
 * Verifies an Ed25519 signature. Refuses small-order and invalid keys first (see
 * `isAcceptablePublicKey`). Never throws; resolves false on any failure.
 */
export async function verifyEd25519(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
  if (signature.length !== 64 || !isAcceptablePublicKey(publicKey)) return false;
  const s = subtle();
  if (s && webCryptoEd25519 !== false) {
    try {
      const key = await s.importKey('raw', publicKey as Uint8Array<ArrayBuffer>, { name: 'Ed25519' }, false, ['verify']);
      webCryptoEd25519 = true;
      return await s.verify('Ed25519', key, signature as Uint8Array<ArrayBuffer>, message as Uint8Array<ArrayBuffer>);
    } catch {
      // Older browsers (and some WebViews) lack Ed25519 in WebCrypto.
      if (webCryptoEd25519 === true) return false;
      webCryptoEd25519 = false;
    }
  }
  try {
    return ed25519.verify(signature, message, publicKey);
  } catch {
    return false;
  }
}

/**
 * A fresh identity whose private key never leaves WebCrypto (non-extractable), or a noble key
 * where WebCrypto has no Ed25519. For tests, the e2e harness, and anything not yet wired to the
 * recovery phrase.
 */
export async function generateIdentity(): Promise<LinkIdentity> {
  const s = subtle();
  if (s) {
    try {
      const pair = (await s.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify'])) as CryptoKeyPair;
      const publicKey = new Uint8Array(await s.exportKey('raw', pair.publicKey));
      return {
        publicKey,
        sign: async (m) => new Uint8Array(await s.sign('Ed25519', pair.privateKey, m as Uint8Array<ArrayBuffer>)),
      };
    } catch {
      // fall through to noble
    }
  }
  return identityFromSeed(ed25519.utils.randomSecretKey());
}

/** The identity of a 32-byte Ed25519 seed (RFC 8032 secret key), signing with `@noble/curves`. */
export function identityFromSeed(seed: Uint8Array): LinkIdentity {
  if (seed.length !== 32) throw new TypeError('an Ed25519 seed is 32 bytes');
  const secret = Uint8Array.from(seed);
  return {
    publicKey: ed25519.getPublicKey(secret),
    sign: async (m) => ed25519.sign(m, secret),
  };
}
