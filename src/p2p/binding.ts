/**
 * Identity binding of a WebRTC link (link protocol version 1): proves that the identity key at
 * the other end owns *this* DTLS connection, so a signaling server that relays (and could
 * rewrite) the SDP cannot sit in the middle.
 *
 * Each side signs a transcript naming both DTLS certificate fingerprints as its own
 * `RTCPeerConnection` applied them, both nonces and both keys. A man in the middle terminates two
 * DTLS connections with its own certificates, so the two honest sides see different fingerprint
 * pairs, and each one's signature fails to verify against the transcript the other rebuilds.
 *
 * Transcript signed by a side ("own" = the signer), byte layout:
 *
 * ```
 * "backpact/v1/link-binding"   24 bytes ASCII   domain separation
 * 0x00                          1
 * mode                          1   0 pinned, 1 invite
 * own fingerprint               u8 algorithm length | algorithm (ASCII, lower case) | u8 length | digest bytes
 * peer fingerprint              same layout
 * own nonce                     32
 * peer nonce                    32
 * own public key                32
 * peer public key               32
 * ```
 *
 * In invite mode each side also sends HMAC-SHA256(K, transcript) where
 * K = HMAC-SHA256(invite secret, "backpact/v1/invite/binding"): the guest is unknown to the
 * inviter, so knowledge of the secret from the link is what admits it.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesEqual, concatBytes, utf8Encode } from '../protocol/encoding.ts';
import { BindingError } from './errors.ts';
import type { BindingMode } from './frames.ts';
import { verifyEd25519, type LinkIdentity } from './identity.ts';

/** Label at the start of every binding transcript. */
export const BINDING_LABEL = 'backpact/v1/link-binding';

/** Label deriving the invite binding MAC key from the invite secret. */
export const INVITE_BINDING_LABEL = 'backpact/v1/invite/binding';

/** A DTLS certificate fingerprint as written in SDP (`a=fingerprint:sha-256 AB:CD:…`). */
export interface Fingerprint {
  /** Hash function name, lower case (e.g. `sha-256`). */
  algorithm: string;
  /** Digest bytes. */
  digest: Uint8Array;
}

/** One side's contribution to a binding. */
export interface BindingParty {
  fingerprint: Fingerprint;
  nonce: Uint8Array;
  publicKey: Uint8Array;
}

const FINGERPRINT_LINE = /^a=fingerprint:(\S+) ([0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2})*)\s*$/;

/**
 * The DTLS fingerprint of an SDP, as applied (pass `pc.currentLocalDescription.sdp` or
 * `pc.currentRemoteDescription.sdp`). Every `a=fingerprint` line must name the same certificate;
 * none, an unparsable one, or two different ones throws {@link BindingError} `no-fingerprint`.
 */
export function fingerprintFromSdp(sdp: string): Fingerprint {
  let found: Fingerprint | undefined;
  for (const line of sdp.split(/\r?\n/)) {
    if (!line.startsWith('a=fingerprint:')) continue;
    const m = FINGERPRINT_LINE.exec(line);
    if (!m) throw new BindingError('no-fingerprint', 'unparsable a=fingerprint line');
    const algorithm = m[1]!.toLowerCase();
    if (algorithm.length > 32) throw new BindingError('no-fingerprint', 'fingerprint algorithm name too long');
    const digest = Uint8Array.from(m[2]!.split(':'), (h) => parseInt(h, 16));
    if (digest.length < 20 || digest.length > 64) throw new BindingError('no-fingerprint', 'fingerprint digest of unexpected length');
    const fp = { algorithm, digest };
    if (found && !fingerprintsEqual(found, fp)) throw new BindingError('no-fingerprint', 'SDP names two different certificates');
    found = fp;
  }
  if (!found) throw new BindingError('no-fingerprint', 'no a=fingerprint line in the SDP');
  return found;
}

/** True when two fingerprints name the same certificate. */
export function fingerprintsEqual(a: Fingerprint, b: Fingerprint): boolean {
  return a.algorithm === b.algorithm && bytesEqual(a.digest, b.digest);
}

function encodeFingerprint(fp: Fingerprint): Uint8Array {
  const alg = utf8Encode(fp.algorithm);
  return concatBytes(new Uint8Array([alg.length]), alg, new Uint8Array([fp.digest.length]), fp.digest);
}

/**
 * The transcript signed by `own` when binding with `peer` (layout in the module comment). The
 * verifier rebuilds the signer's transcript by swapping the roles: its own view of the remote
 * fingerprint becomes the signer's "own".
 */
export function bindingTranscript(mode: BindingMode, own: BindingParty, peer: BindingParty): Uint8Array {
  for (const p of [own, peer]) {
    if (p.nonce.length !== 32) throw new TypeError('binding nonces are 32 bytes');
    if (p.publicKey.length !== 32) throw new TypeError('binding keys are 32 bytes');
  }
  return concatBytes(
    utf8Encode(BINDING_LABEL),
    new Uint8Array([0, mode === 'invite' ? 1 : 0]),
    encodeFingerprint(own.fingerprint),
    encodeFingerprint(peer.fingerprint),
    own.nonce,
    peer.nonce,
    own.publicKey,
    peer.publicKey,
  );
}

/** The invite binding MAC key, derived from the invite secret. */
export function inviteBindingKey(inviteSecret: Uint8Array): Uint8Array {
  return hmac(sha256, inviteSecret, utf8Encode(INVITE_BINDING_LABEL));
}

/** Our binding proof: the signature over our transcript, and the MAC in invite mode. */
export async function proveBinding(
  identity: LinkIdentity,
  transcript: Uint8Array,
  inviteSecret: Uint8Array | null,
): Promise<{ signature: Uint8Array; mac: Uint8Array | null }> {
  const signature = await identity.sign(transcript);
  return { signature, mac: inviteSecret ? hmac(sha256, inviteBindingKey(inviteSecret), transcript) : null };
}

/**
 * Checks the peer's proof over the transcript it must have signed. Throws {@link BindingError}
 * (`bad-mac` or `bad-signature`) on any mismatch.
 */
export async function checkBinding(
  peerKey: Uint8Array,
  peerTranscript: Uint8Array,
  proof: { signature: Uint8Array; mac: Uint8Array | null },
  inviteSecret: Uint8Array | null,
): Promise<void> {
  if (inviteSecret) {
    const expected = hmac(sha256, inviteBindingKey(inviteSecret), peerTranscript);
    if (!proof.mac || !bytesEqual(proof.mac, expected)) throw new BindingError('bad-mac');
  } else if (proof.mac) {
    throw new BindingError('mode-mismatch', 'a MAC was sent outside invite mode');
  }
  if (!(await verifyEd25519(peerKey, peerTranscript, proof.signature))) throw new BindingError('bad-signature');
}
