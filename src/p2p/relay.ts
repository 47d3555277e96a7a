/**
 * End-to-end signed envelopes for messages relayed by the signaling server (audits and
 * agreement updates when no data channel can be opened, e.g. from the service worker). The
 * server forwards them blindly; the recipient verifies sender, recipient, freshness, uniqueness
 * and signature before trusting a byte. Layout (version 1, integers big-endian):
 *
 * ```
 * 0    1   version (1)
 * 1    32  sender public key
 * 33   32  recipient public key
 * 65   8   sent at, ms since the Unix epoch (sender's clock)
 * 73   16  random nonce (replay detection)
 * 89   n   body
 * 89+n 64  Ed25519 signature over "backpact/v1/relay" ‖ 0x00 ‖ bytes 0 .. 89+n
 * ```
 */
import { bytesEqual, concatBytes, toBase64Url, utf8Encode } from '../protocol/encoding.ts';
import { SIGNALING_LIMITS } from '../protocol/signaling.ts';
import { RELAY_MAX_SKEW_MS, RELAY_REPLAY_CACHE } from './constants.ts';
import { RelayVerificationError } from './errors.ts';
import { verifyEd25519, type LinkIdentity } from './identity.ts';

/** Domain-separation label of relay signatures. */
export const RELAY_LABEL = 'backpact/v1/relay';

const HEADER = 1 + 32 + 32 + 8 + 16;
const SIGNATURE = 64;

/** Largest body that fits in one relayed message. */
export const MAX_RELAY_BODY_BYTES = SIGNALING_LIMITS.relayBytes - HEADER - SIGNATURE;

function signedInput(unsigned: Uint8Array, label = RELAY_LABEL): Uint8Array {
  return concatBytes(utf8Encode(label), new Uint8Array([0]), unsigned);
}

/**
 * Seals `body` for `recipient`: the bytes to pass to `SignalingClient.relay`. `label` separates
 * other uses of the same envelope (e.g. open-pool introductions) from relayed messages.
 */
export async function sealRelay(
  identity: LinkIdentity,
  recipient: Uint8Array,
  body: Uint8Array,
  opts: { now?: number; random?: (n: number) => Uint8Array; label?: string } = {},
): Promise<Uint8Array> {
  if (body.length > MAX_RELAY_BODY_BYTES) throw new RangeError(`a relayed body is at most ${MAX_RELAY_BODY_BYTES} bytes`);
  if (recipient.length !== 32) throw new TypeError('recipient key must be 32 bytes');
  const unsigned = new Uint8Array(HEADER + body.length);
  unsigned[0] = 1;
  unsigned.set(identity.publicKey, 1);
  unsigned.set(recipient, 33);
  new DataView(unsigned.buffer).setBigUint64(65, BigInt(Math.floor(opts.now ?? Date.now())));
  unsigned.set((opts.random ?? ((n) => globalThis.crypto.getRandomValues(new Uint8Array(n))))(16), 73);
  unsigned.set(body, HEADER);
  return concatBytes(unsigned, await identity.sign(signedInput(unsigned, opts.label)));
}

/**
 * Remembers the nonces of recently accepted messages, so a replay inside the freshness window
 * is refused. Bounded: the oldest entries go first.
 */
export class ReplayGuard {
  private readonly seen = new Map<string, number>();

  constructor(private readonly max = RELAY_REPLAY_CACHE) {}

  /** Records `nonce`; returns false if it was already recorded. */
  admit(nonce: Uint8Array, sentAt: number): boolean {
    const key = toBase64Url(nonce);
    if (this.seen.has(key)) return false;
    this.seen.set(key, sentAt);
    while (this.seen.size > this.max) this.seen.delete(this.seen.keys().next().value!);
    return true;
  }
}

/**
 * Verifies a relayed message and returns its body. `from` is the sender key the server reported
 * (it must match the signed one), `me` our key. Throws {@link RelayVerificationError}.
 */
export async function openRelay(
  bytes: Uint8Array,
  opts: { from: Uint8Array; me: Uint8Array; now?: number; replay?: ReplayGuard; label?: string },
): Promise<Uint8Array> {
  if (bytes.length > SIGNALING_LIMITS.relayBytes) throw new RelayVerificationError('too-large');
  if (bytes.length < HEADER + SIGNATURE || bytes[0] !== 1) throw new RelayVerificationError('malformed');
  const unsigned = bytes.subarray(0, bytes.length - SIGNATURE);
  const sender = bytes.subarray(1, 33);
  if (!bytesEqual(sender, opts.from)) throw new RelayVerificationError('wrong-sender');
  if (!bytesEqual(bytes.subarray(33, 65), opts.me)) throw new RelayVerificationError('wrong-recipient');
  const sentAt = Number(new DataView(bytes.buffer, bytes.byteOffset + 65, 8).getBigUint64(0));
  if (Math.abs((opts.now ?? Date.now()) - sentAt) > RELAY_MAX_SKEW_MS) throw new RelayVerificationError('stale');
  if (!(await verifyEd25519(sender, signedInput(unsigned, opts.label), bytes.subarray(bytes.length - SIGNATURE)))) {
    throw new RelayVerificationError('bad-signature');
  }
  // Only a verified message may take a replay slot, or forgeries could evict real nonces.
  if (opts.replay && !opts.replay.admit(bytes.slice(73, 89), sentAt)) throw new RelayVerificationError('replayed');
  return bytes.slice(HEADER, bytes.length - SIGNATURE);
}
