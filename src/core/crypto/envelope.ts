/**
 * The versioned AES-256-GCM envelope used for every encrypted object (chunks, pack headers,
 * manifests, root records).
 *
 * Layout, version 1:
 *
 *   offset  size  field
 *   0       1     version = 0x01
 *   1       12    nonce (random per envelope)
 *   13      n+16  AES-256-GCM ciphertext of the n plaintext bytes, then the 16-byte tag
 *
 * Associated data = version byte ‖ utf8(purpose), where purpose names what the envelope holds
 * (`backpact/v1/chunk`, …). The version byte is authenticated, and an envelope made for one purpose
 * never opens as another even under the same key.
 *
 * Opening verifies before returning anything: an unknown version → {@link UnsupportedVersionError};
 * fewer than 29 bytes → {@link MalformedError}; any other change to any byte →
 * {@link IntegrityError}. All three are IntegrityErrors.
 */
import { ENVELOPE_VERSION, NONCE_BYTES, TAG_BYTES } from '../constants.ts';
import { concatBytes, ownBuffer, utf8 } from '../encoding/bytes.ts';
import { IntegrityError, InvalidArgumentError, MalformedError, UnsupportedVersionError } from '../errors.ts';

/** Bytes an envelope adds to its plaintext: version, nonce and tag. */
export const ENVELOPE_OVERHEAD = 1 + NONCE_BYTES + TAG_BYTES;

/** What an envelope holds; part of its associated data. */
export type EnvelopePurpose = 'backpact/v1/chunk' | 'backpact/v1/pack-header' | 'backpact/v1/manifest' | 'backpact/v1/root-record';

/** A 32-byte AES key, raw or already imported into WebCrypto for AES-GCM. */
export type AesKey = Uint8Array | CryptoKey;

/** Imports 32 raw bytes as a non-extractable AES-GCM key. */
export async function importAesKey(raw: Uint8Array): Promise<CryptoKey> {
  if (raw.length !== 32) throw new InvalidArgumentError('AES-256 keys are 32 bytes');
  return globalThis.crypto.subtle.importKey('raw', ownBuffer(raw), { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
}

async function asCryptoKey(key: AesKey): Promise<CryptoKey> {
  return key instanceof Uint8Array ? importAesKey(key) : key;
}

/**
 * `bytes` as WebCrypto input without copying: a view of an `ArrayBuffer` is passed as it is (any
 * offset; WebCrypto copies what it reads when called), and only bytes over a `SharedArrayBuffer`
 * are copied first.
 */
export function cryptoInput(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : ownBuffer(bytes);
}

const AD_CACHE = new Map<string, Uint8Array<ArrayBuffer>>();

function associatedData(version: number, purpose: EnvelopePurpose): Uint8Array<ArrayBuffer> {
  const key = `${version}:${purpose}`;
  let ad = AD_CACHE.get(key);
  if (!ad) {
    ad = concatBytes(new Uint8Array([version]), utf8(purpose)) as Uint8Array<ArrayBuffer>;
    AD_CACHE.set(key, ad);
  }
  return ad;
}

/** Options for {@link seal}. */
export interface SealOptions {
  /**
   * The 12-byte nonce. Leave unset (a fresh random nonce is used); tests set it to make golden
   * fixtures deterministic. Reusing a nonce under one key breaks GCM.
   */
  nonce?: Uint8Array;
}

/** Encrypts `plaintext` into a version-1 envelope for `purpose`. */
export async function seal(key: AesKey, purpose: EnvelopePurpose, plaintext: Uint8Array, options: SealOptions = {}): Promise<Uint8Array> {
  if (options.nonce && options.nonce.length !== NONCE_BYTES) throw new InvalidArgumentError(`nonce must be ${NONCE_BYTES} bytes`);
  const ck = await asCryptoKey(key);
  const out = new Uint8Array(ENVELOPE_OVERHEAD + plaintext.length);
  await sealInto(ck, purpose, plaintext, out, 0, options);
  return out;
}

/**
 * {@link seal} written into `out` at `offset` (ENVELOPE_OVERHEAD + plaintext.length bytes), e.g.
 * straight into a pack being built. WebCrypto copies the plaintext during this call, so the caller
 * may reuse `plaintext` as soon as it returns; `out` is complete when the promise resolves. Same
 * bytes as {@link seal}.
 */
export function sealInto(
  key: CryptoKey, purpose: EnvelopePurpose, plaintext: Uint8Array, out: Uint8Array, offset: number, options: SealOptions = {},
): Promise<void> {
  const nonce = options.nonce ?? globalThis.crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
  if (nonce.length !== NONCE_BYTES) return Promise.reject(new InvalidArgumentError(`nonce must be ${NONCE_BYTES} bytes`));
  if (!Number.isInteger(offset) || offset < 0 || out.length - offset < ENVELOPE_OVERHEAD + plaintext.length) {
    return Promise.reject(new InvalidArgumentError('no room for the envelope'));
  }
  const sealed = globalThis.crypto.subtle.encrypt(
    { name: 'AES-GCM', iv: cryptoInput(nonce), additionalData: associatedData(ENVELOPE_VERSION, purpose), tagLength: TAG_BYTES * 8 },
    key,
    cryptoInput(plaintext),
  );
  out[offset] = ENVELOPE_VERSION;
  out.set(nonce, offset + 1);
  return sealed.then((ciphertext) => {
    out.set(new Uint8Array(ciphertext), offset + 1 + NONCE_BYTES);
  });
}

/**
 * Decrypts and verifies an envelope made by {@link seal} for `purpose`. Throws
 * {@link UnsupportedVersionError}, {@link MalformedError} or {@link IntegrityError} (see the
 * module comment); never returns unverified bytes.
 */
export async function open(key: AesKey, purpose: EnvelopePurpose, envelope: Uint8Array): Promise<Uint8Array> {
  if (envelope.length === 0) throw new MalformedError('envelope', 'empty');
  const version = envelope[0]!;
  if (version !== ENVELOPE_VERSION) throw new UnsupportedVersionError('envelope', version);
  if (envelope.length < ENVELOPE_OVERHEAD) throw new MalformedError('envelope', `${envelope.length} bytes is shorter than the ${ENVELOPE_OVERHEAD}-byte minimum`);
  const ck = await asCryptoKey(key);
  try {
    return new Uint8Array(
      await globalThis.crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: envelope.slice(1, 1 + NONCE_BYTES), additionalData: associatedData(version, purpose), tagLength: TAG_BYTES * 8 },
        ck,
        cryptoInput(envelope.subarray(1 + NONCE_BYTES)),
      ),
    );
  } catch (cause) {
    throw new IntegrityError(`${purpose} envelope failed authentication`, { cause });
  }
}
