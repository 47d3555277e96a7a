/**
 * Invite primitives (version 1). An invite link carries the inviter's public key, an invite id
 * and a secret; the signaling server only ever sees `inviteMailbox(id)`, a hash of the id, so it
 * can neither read nor forge replies.
 *
 * Flow: the inviter opens the mailbox; the guest posts a reply (its key and device, MAC'd with a
 * key derived from the secret); the inviter verifies it and both link in invite binding mode
 * (link.ts), the guest pinning the inviter's key from the link.
 *
 * Link payload (base64url in the URL fragment): version 1 | inviter key 32 | invite id 16 | secret 32.
 * Reply: version 1 | guest key 32 | device 16 | u16 payload length | payload | MAC 32, where
 * MAC = HMAC-SHA256(HMAC-SHA256(secret, "backpact/v1/invite/reply"), "backpact/v1/invite/reply" ‖ 0x00 ‖ invite id ‖ everything before the MAC).
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesEqual, concatBytes, fromBase64Url, toBase64Url, utf8Encode } from '../protocol/encoding.ts';
import { isAcceptablePublicKey } from '../protocol/keys.ts';
import type { DeviceId, MailboxId } from '../protocol/signaling.ts';
import { InviteError } from './errors.ts';

/** Labels of the invite derivations. */
export const INVITE_LABELS = {
  mailbox: 'backpact/v1/invite/mailbox',
  reply: 'backpact/v1/invite/reply',
} as const;

/** A decoded invite. */
export interface Invite {
  inviterKey: Uint8Array;
  inviteId: Uint8Array;
  secret: Uint8Array;
}

/** A verified invite reply. */
export interface InviteReply {
  guestKey: Uint8Array;
  device: DeviceId;
  /** Application data the guest added (e.g. its display name), covered by the MAC. */
  payload: Uint8Array;
}

const random = (n: number): Uint8Array => globalThis.crypto.getRandomValues(new Uint8Array(n));

/** A fresh invite from `inviterKey`. */
export function createInvite(inviterKey: Uint8Array): Invite {
  return { inviterKey: Uint8Array.from(inviterKey), inviteId: random(16), secret: random(32) };
}

/** The text for the invite link's fragment. */
export function encodeInvite(invite: Invite): string {
  return toBase64Url(concatBytes(new Uint8Array([1]), invite.inviterKey, invite.inviteId, invite.secret));
}

/** Decodes an invite link's fragment; throws {@link InviteError} on anything malformed. */
export function decodeInvite(text: string): Invite {
  const bytes = fromBase64Url(text.trim());
  if (!bytes || bytes.length !== 81 || bytes[0] !== 1) throw new InviteError('this is not a Backpact invite (or a newer version)');
  const inviterKey = bytes.slice(1, 33);
  if (!isAcceptablePublicKey(inviterKey)) throw new InviteError('the invite names an invalid key');
  return { inviterKey, inviteId: bytes.slice(33, 49), secret: bytes.slice(49, 81) };
}

/** The mailbox address of an invite: a tagged SHA-256 of the invite id. */
export function inviteMailbox(inviteId: Uint8Array): MailboxId {
  return toBase64Url(sha256(concatBytes(utf8Encode(INVITE_LABELS.mailbox), new Uint8Array([0]), inviteId))) as MailboxId;
}

function replyMac(invite: Invite, unsigned: Uint8Array): Uint8Array {
  const key = hmac(sha256, invite.secret, utf8Encode(INVITE_LABELS.reply));
  return hmac(sha256, key, concatBytes(utf8Encode(INVITE_LABELS.reply), new Uint8Array([0]), invite.inviteId, unsigned));
}

/** The guest's reply for the mailbox. */
export function sealInviteReply(invite: Invite, guestKey: Uint8Array, device: DeviceId, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const deviceBytes = fromBase64Url(device);
  if (!deviceBytes || deviceBytes.length !== 16) throw new InviteError('bad device id');
  if (payload.length > 4096) throw new InviteError('invite reply payload is at most 4096 bytes');
  const unsigned = concatBytes(new Uint8Array([1]), guestKey, deviceBytes, new Uint8Array([payload.length >>> 8, payload.length & 0xff]), payload);
  return concatBytes(unsigned, replyMac(invite, unsigned));
}

/** Verifies a reply from the mailbox; throws {@link InviteError} unless it is genuine. */
export function openInviteReply(invite: Invite, bytes: Uint8Array): InviteReply {
  if (bytes.length < 1 + 32 + 16 + 2 + 32 || bytes[0] !== 1) throw new InviteError('malformed invite reply');
  const payloadLength = (bytes[49]! << 8) | bytes[50]!;
  if (bytes.length !== 51 + payloadLength + 32) throw new InviteError('malformed invite reply');
  const unsigned = bytes.subarray(0, bytes.length - 32);
  if (!bytesEqual(bytes.subarray(bytes.length - 32), replyMac(invite, unsigned))) throw new InviteError('the invite reply is not from someone with the invite');
  const guestKey = bytes.slice(1, 33);
  if (!isAcceptablePublicKey(guestKey)) throw new InviteError('the invite reply names an invalid key');
  return { guestKey, device: toBase64Url(bytes.subarray(33, 49)) as DeviceId, payload: bytes.slice(51, 51 + payloadLength) };
}
