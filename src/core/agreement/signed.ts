/**
 * Signatures over agreement terms. Both parties sign the same bytes, a tagged message in the sense
 * of core `signTagged`: `utf8("backpact/v1/agreement") ‖ 0x00 ‖ utf8(canonicalJson(terms))`. The
 * tag keeps an agreement signature from ever being valid as any other Backpact signature.
 */
import { fromBase32, fromHex, toBase32, toHex, utf8 } from '../encoding/bytes.ts';
import { InvalidArgumentError, MalformedError, SignatureError } from '../errors.ts';
import { taggedMessage, verifyTagged } from '../keys/identity.ts';
import { canonicalJson, type CanonicalValue } from './canonical.ts';
import { parseTerms, type AgreementTerms } from './terms.ts';

/** Domain-separation label of agreement signatures. */
export const AGREEMENT_SIGNING_LABEL = 'backpact/v1/agreement';

/** Something that can sign with an identity key (WebCrypto non-extractable, or noble in tests). */
export interface Signer {
  /** Raw 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
  /** Ed25519 signature (64 bytes) over `message`. */
  sign(message: Uint8Array): Promise<Uint8Array>;
}

/** Terms with both parties' signatures (hex). */
export interface SignedAgreement {
  terms: AgreementTerms;
  sigA: string;
  sigB: string;
}

function termsBytes(terms: AgreementTerms): Uint8Array {
  return utf8(canonicalJson(terms as unknown as CanonicalValue));
}

/** The exact bytes both parties sign. */
export function agreementSigningBytes(terms: AgreementTerms): Uint8Array {
  return taggedMessage(AGREEMENT_SIGNING_LABEL, termsBytes(terms));
}

/** Base32 spelling of a raw public key, as used in {@link AgreementTerms}. */
export function publicKeyText(publicKey: Uint8Array): string {
  return toBase32(publicKey);
}

/** Signs `terms` as the party whose key `signer` holds; returns the signature (hex). */
export async function signTerms(terms: AgreementTerms, signer: Signer): Promise<string> {
  const key = publicKeyText(signer.publicKey);
  if (key !== terms.a.publicKey && key !== terms.b.publicKey) {
    throw new InvalidArgumentError('only a party to an agreement may sign it');
  }
  return toHex(await signer.sign(agreementSigningBytes(terms)));
}

/** True when `sigHex` is `publicKeyB32`'s signature over `terms`. Never throws. */
export function checkTermsSignature(terms: AgreementTerms, publicKeyB32: string, sigHex: string): boolean {
  try {
    return verifyTagged(fromBase32(publicKeyB32), AGREEMENT_SIGNING_LABEL, termsBytes(terms), fromHex(sigHex));
  } catch {
    return false;
  }
}

/**
 * Validates untrusted input as a fully signed agreement: well-formed terms and both signatures
 * valid. Throws {@link MalformedError} or {@link SignatureError}.
 */
export function parseSignedAgreement(x: unknown): SignedAgreement {
  if (typeof x !== 'object' || x === null) throw new MalformedError('signed-agreement', 'not an object');
  const o = x as Record<string, unknown>;
  const terms = parseTerms(o.terms);
  if (typeof o.sigA !== 'string' || typeof o.sigB !== 'string') throw new MalformedError('signed-agreement', 'signatures missing');
  if (!checkTermsSignature(terms, terms.a.publicKey, o.sigA) || !checkTermsSignature(terms, terms.b.publicKey, o.sigB)) {
    throw new SignatureError('agreement');
  }
  return { terms, sigA: o.sigA, sigB: o.sigB };
}

/** A later revision of the same agreement supersedes an earlier one; anything else is refused. */
export function supersedes(next: SignedAgreement, current: SignedAgreement | undefined): boolean {
  if (!current) return true;
  return next.terms.id === current.terms.id && next.terms.revision > current.terms.revision;
}
