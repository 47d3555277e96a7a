/**
 * What a client signs to authenticate a signaling socket (protocol version 1). Shared by the
 * client, which signs it, and the server, which verifies it. Byte layout (docs/DESIGN.md §5):
 *
 * ```
 * "backpact/v1/signaling-auth"  26 bytes ASCII  domain separation: this signature means nothing elsewhere
 * 0x00                           1 byte         end of label
 * host length                    2 bytes        big-endian
 * host                           UTF-8          lower-cased authority of the signaling URL, e.g. "example.org:8443"
 * nonce                          32 bytes       from the server's `challenge`
 * device                         16 bytes       the device id, decoded
 * ```
 *
 * The host binds the signature to the server the *client* meant to reach: a malicious server
 * that forwards another server's nonce gets a signature naming itself, which the other refuses.
 */
import { concatBytes, fromBase64Url, utf8Encode } from './encoding.ts';
import { SIGNALING_LIMITS, type DeviceId } from './signaling.ts';

/** Domain-separation label of the signaling authentication signature. */
export const SIGNALING_AUTH_LABEL = 'backpact/v1/signaling-auth';

/** Thrown by {@link authTranscript} for inputs no honest party produces. */
export class AuthTranscriptError extends Error {
  override name = 'AuthTranscriptError';
}

/** Normalises a host for the transcript: lower case, as `URL.host` gives it. */
export function normaliseHost(host: string): string {
  return host.trim().toLowerCase();
}

/**
 * The exact bytes signed to authenticate: see the module comment for the layout. `nonce` is the
 * challenge's base64url nonce, `device` the base64url device id.
 */
export function authTranscript(host: string, nonce: string, device: DeviceId): Uint8Array {
  const hostBytes = utf8Encode(normaliseHost(host));
  if (hostBytes.length === 0 || hostBytes.length > 0xffff) throw new AuthTranscriptError('host must be 1 to 65535 bytes');
  const nonceBytes = fromBase64Url(nonce);
  if (!nonceBytes || nonceBytes.length !== SIGNALING_LIMITS.nonceBytes) throw new AuthTranscriptError('nonce must be 32 bytes');
  const deviceBytes = fromBase64Url(device);
  if (!deviceBytes || deviceBytes.length !== SIGNALING_LIMITS.deviceBytes) throw new AuthTranscriptError('device must be 16 bytes');
  const len = new Uint8Array([hostBytes.length >>> 8, hostBytes.length & 0xff]);
  return concatBytes(utf8Encode(SIGNALING_AUTH_LABEL), new Uint8Array([0]), len, hostBytes, nonceBytes, deviceBytes);
}
