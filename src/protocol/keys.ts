/**
 * Checks on Ed25519 public keys received from the network, shared by server and client.
 */
import { ed25519 } from '@noble/curves/ed25519.js';

/**
 * True when `key` is 32 bytes that decode to a curve point of large order. Small-order keys
 * (e.g. the identity point) must be refused before any verification: with them the all-zero
 * signature `S = 0` verifies for *every* message under RFC 8032 (checked here: OpenSSL, WebCrypto
 * and noble all accept it), so "possession of the key" would prove nothing.
 */
export function isAcceptablePublicKey(key: Uint8Array): boolean {
  if (key.length !== 32) return false;
  try {
    return !ed25519.Point.fromBytes(key).isSmallOrder();
  } catch {
    return false;
  }
}
