/**
 * Tunables of the peer-to-peer layer, each with its reason. Sizes marked "wire" are part of link
 * protocol version 1 and must not change without a version bump.
 */

/**
 * Wire: largest frame on a data channel, header included. The brief's "messages of at most
 * 64 KiB"; Chromium accepts up to 256 KiB (`sctp.maxMessageSize`), but 64 KiB keeps head-of-line
 * blocking of control frames short and is the largest size every WebRTC stack handles well.
 */
export const MAX_FRAME_BYTES = 64 * 1024;

/** Wire: bytes of the frame header (version, kind, stream id). */
export const FRAME_HEADER_BYTES = 6;

/** Largest payload of one data frame. */
export const MAX_DATA_BYTES = MAX_FRAME_BYTES - FRAME_HEADER_BYTES;

/** Wire: the link protocol version spoken here. */
export const LINK_VERSION = 1;

/**
 * Wire: each stream's initial receive window. A sender may have at most this many body bytes
 * unacknowledged per stream; the receiver grants more as its consumer reads. Bounds the memory a
 * fast sender can make a slow receiver (e.g. one writing to IndexedDB) hold. 4 MiB is ~100 ms at
 * the ~40 MB/s a Chromium data channel reaches here, so credit round trips never stall a stream.
 */
export const STREAM_WINDOW_BYTES = 4 * 1024 * 1024;

/** A receiver returns credit once its consumer has read this much since the last grant. */
export const CREDIT_GRANT_BYTES = 1024 * 1024;

/**
 * Sender high-water mark on `RTCDataChannel.bufferedAmount`: above it, writers wait for
 * `bufferedamountlow`. Chromium's queue throws past 16 MiB; 4 MiB keeps well clear of that while
 * leaving enough queued for SCTP never to run dry (measured: see DESIGN §5).
 */
export const HIGH_WATER_MARK_BYTES = 4 * 1024 * 1024;

/** `bufferedAmountLowThreshold`: writers resume when the queue drains to this. */
export const LOW_WATER_MARK_BYTES = 1024 * 1024;

/** Default time for a response header to arrive. */
export const REQUEST_TIMEOUT_MS = 30_000;

/** A body stream with no progress for this long fails with a timeout (a stalled peer). */
export const STREAM_IDLE_TIMEOUT_MS = 60_000;

/** Most requests from the peer handled at once; more are answered `busy`. */
export const MAX_INCOMING_REQUESTS = 64;

/** Identity binding must finish within this time after the channel opens. */
export const BINDING_TIMEOUT_MS = 10_000;

/**
 * Frames the peer may send after its AUTH while ours is still being verified (it may start a
 * request as soon as it has verified us). Bounded so a peer cannot queue unbounded data before
 * it is authenticated: one full stream window plus headers.
 */
export const MAX_PREBIND_BYTES = STREAM_WINDOW_BYTES + 256 * 1024;

/** ICE + DTLS + channel open must finish within this time, or the attempt is abandoned. */
export const CONNECT_TIMEOUT_MS = 20_000;

/** Link reconnect back-off: first delay, cap, growth. Jittered (see backoff.ts). */
export const LINK_RETRY = { initialMs: 500, maxMs: 30_000, factor: 2 } as const;

/** Signaling reconnect back-off: a server restart should not be hit by every client at once. */
export const SIGNALING_RETRY = { initialMs: 1_000, maxMs: 60_000, factor: 2 } as const;

/** Time for the signaling server to answer a request that carries a `rid`. */
export const SIGNALING_REQUEST_TIMEOUT_MS = 10_000;

/** A relayed message older (or further in the future) than this is refused as stale. */
export const RELAY_MAX_SKEW_MS = 10 * 60_000;

/** Relayed message nonces remembered to refuse replays within the skew window. */
export const RELAY_REPLAY_CACHE = 4096;
