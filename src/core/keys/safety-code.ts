/**
 * Safety codes: short digit strings two people read to each other to confirm they see the same
 * keys. A pair code does not depend on the order of the two keys, so both screens show the same.
 *
 *   digest = SHA-256("backpact/v1/safety-code" ‖ 0x00 ‖ n ‖ key_1 ‖ … ‖ key_n), keys sorted
 *   code   = first 8 bytes of digest as a big-endian integer, mod 10^12, zero-padded, "dddd dddd dddd"
 *
 * 12 digits are ~40 bits: enough to catch a substituted key that was not ground against this
 * check, not enough on their own against an attacker who can generate keys until two codes match.
 * The invite link carries the key itself; the code confirms it (docs/DESIGN.md §4).
 */
import { SAFETY_CODE_DIGITS, SAFETY_CODE_GROUP } from '../constants.ts';
import { compareBytes } from '../encoding/bytes.ts';
import { taggedHash } from '../crypto/hash.ts';
import { InvalidArgumentError } from '../errors.ts';

/** Tag of the safety-code hash. */
export const SAFETY_CODE_TAG = 'backpact/v1/safety-code';

/**
 * The safety code of one public key, or of a pair (order-independent). Returns digits in groups
 * of four separated by spaces, e.g. "0412 9937 5521".
 */
export function safetyCode(publicKey: Uint8Array, otherPublicKey?: Uint8Array): string {
  const keys = otherPublicKey ? [publicKey, otherPublicKey] : [publicKey];
  for (const k of keys) if (k.length !== 32) throw new InvalidArgumentError('safety codes take 32-byte Ed25519 public keys');
  keys.sort(compareBytes);
  const digest = taggedHash(SAFETY_CODE_TAG, new Uint8Array([keys.length]), ...keys);
  let n = 0n;
  for (let i = 0; i < 8; i++) n = (n << 8n) | BigInt(digest[i]!);
  const digits = (n % 10n ** BigInt(SAFETY_CODE_DIGITS)).toString().padStart(SAFETY_CODE_DIGITS, '0');
  const groups: string[] = [];
  for (let i = 0; i < digits.length; i += SAFETY_CODE_GROUP) groups.push(digits.slice(i, i + SAFETY_CODE_GROUP));
  return groups.join(' ');
}
