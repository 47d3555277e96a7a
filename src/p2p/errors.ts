/**
 * Typed errors of the peer-to-peer layer: one class per failure, each with a stable `code` that
 * callers and logs can switch on. Messages never contain payload bytes or secrets.
 */

/** Base class of every error thrown by `src/p2p`. */
export abstract class P2pError extends Error {
  /** Stable machine-readable code. */
  abstract readonly code: string;
}

// ---- Frames ---------------------------------------------------------------------------------

/** A frame that cannot be decoded: too short, a bad field, invalid UTF-8 or JSON. */
export class MalformedFrameError extends P2pError {
  override name = 'MalformedFrameError';
  readonly code = 'malformed-frame';
}

/** A frame larger than the protocol allows (64 KiB). */
export class OversizedFrameError extends P2pError {
  override name = 'OversizedFrameError';
  readonly code = 'oversized-frame';
  constructor(
    readonly size: number,
    readonly max: number,
  ) {
    super(`frame of ${size} bytes exceeds the ${max}-byte limit`);
  }
}

/** A frame of a version this code does not speak. */
export class UnsupportedVersionError extends P2pError {
  override name = 'UnsupportedVersionError';
  readonly code = 'unsupported-version';
  constructor(readonly version: number) {
    super(`unsupported frame version ${version}`);
  }
}

/** A well-formed frame that is not allowed in the link's current state (e.g. data before binding). */
export class UnexpectedFrameError extends P2pError {
  override name = 'UnexpectedFrameError';
  readonly code = 'unexpected-frame';
}

/** The peer sent more stream bytes than it was granted credit for. */
export class FlowControlError extends P2pError {
  override name = 'FlowControlError';
  readonly code = 'flow-control';
}

// ---- Binding --------------------------------------------------------------------------------

/** Why identity binding failed. */
export type BindingFailure =
  /** The peer presented a different public key than the one expected. */
  | 'identity-mismatch'
  /** The peer's signature over the binding transcript did not verify (e.g. a MITM's fingerprints). */
  | 'bad-signature'
  /** The invite MAC did not verify: the peer does not know the invite secret. */
  | 'bad-mac'
  /** The peer wants another binding mode (pinned vs invite). */
  | 'mode-mismatch'
  /** No usable DTLS fingerprint in the applied SDP. */
  | 'no-fingerprint'
  /** The peer's key is not an acceptable Ed25519 public key. */
  | 'bad-key'
  /** Binding did not finish in time. */
  | 'timeout'
  /** Our own side failed (the identity could not sign, or the connection had no description). */
  | 'internal';

/** The peer could not prove it is who we expected over *this* DTLS connection. The link is closed. */
export class BindingError extends P2pError {
  override name = 'BindingError';
  readonly code = 'binding-failed';
  constructor(
    readonly reason: BindingFailure,
    message?: string,
  ) {
    super(message ?? `identity binding failed: ${reason}`);
  }
}

// ---- Requests and links ---------------------------------------------------------------------

/** No response (or no stream progress) within the time limit. */
export class RequestTimeoutError extends P2pError {
  override name = 'RequestTimeoutError';
  readonly code = 'timeout';
}

/** The request was cancelled (by the caller's AbortSignal, or by the peer for incoming ones). */
export class RequestCancelledError extends P2pError {
  override name = 'RequestCancelledError';
  readonly code = 'cancelled';
}

/** The peer answered with an error. `remoteCode` is the peer's code (e.g. `busy`, `bad-request`). */
export class RemoteError extends P2pError {
  override name = 'RemoteError';
  readonly code = 'remote-error';
  constructor(
    readonly remoteCode: string,
    message: string,
  ) {
    super(message);
  }
}

/** Why a link closed. */
export type LinkCloseReason =
  /** We closed it. */
  | 'local'
  /** The peer closed it with a close frame. */
  | 'remote'
  /** The data channel or connection went away without a close frame (network loss). */
  | 'transport'
  /** A protocol violation (malformed, oversized or unexpected frame; flow control). */
  | 'protocol'
  /** Identity binding failed. */
  | 'binding';

/**
 * Thrown by a request handler to answer with a specific error code (e.g. `quota-exceeded`). Any
 * other exception is answered as `internal` without its message, so handler internals never leak.
 */
export class RequestRefusedError extends P2pError {
  override name = 'RequestRefusedError';
  readonly code = 'refused';
  constructor(
    readonly replyCode: string,
    message: string,
  ) {
    super(message);
  }
}

/** The link is closed; pending requests fail with this. */
export class LinkClosedError extends P2pError {
  override name = 'LinkClosedError';
  readonly code = 'link-closed';
  constructor(
    readonly reason: LinkCloseReason,
    message?: string,
    options?: { cause?: unknown },
  ) {
    super(message ?? `link closed (${reason})`, options);
  }
}

/** The link's send queue failed (the transport refused a message). */
export class TransportError extends P2pError {
  override name = 'TransportError';
  readonly code = 'transport';
}

// ---- Signaling and relay --------------------------------------------------------------------

/** The signaling server refused a request; `serverCode` is its error code. */
export class SignalingError extends P2pError {
  override name = 'SignalingError';
  readonly code = 'signaling';
  constructor(
    readonly serverCode: string,
    message: string,
  ) {
    super(message);
  }
}

/** The signaling socket is not connected (or closed before an answer came). */
export class SignalingUnavailableError extends P2pError {
  override name = 'SignalingUnavailableError';
  readonly code = 'signaling-unavailable';
}

/** Why a relayed message was refused. */
export type RelayFailure = 'malformed' | 'too-large' | 'wrong-sender' | 'wrong-recipient' | 'stale' | 'replayed' | 'bad-signature';

/** A relayed message failed verification; it must be ignored. */
export class RelayVerificationError extends P2pError {
  override name = 'RelayVerificationError';
  readonly code = 'relay-invalid';
  constructor(readonly reason: RelayFailure) {
    super(`relayed message refused: ${reason}`);
  }
}

/** An invite link or invite reply is malformed or its MAC does not verify. */
export class InviteError extends P2pError {
  override name = 'InviteError';
  readonly code = 'invite-invalid';
}
