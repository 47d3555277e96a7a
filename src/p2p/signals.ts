/**
 * WebRTC signals exchanged between two Backpact peers through the signaling server (protocol
 * version 1). The server treats them as opaque strings; these types and the decoder are the
 * peers' contract. Every signal names the connection attempt (`cid`) it belongs to, so signals of
 * an abandoned attempt that arrive late are recognised and ignored.
 */

/** Version of the peer signal format. */
export const PEER_SIGNAL_VERSION = 1;

/** A session description (the offerer sends `offer`, the answerer `answer`). */
export interface DescriptionSignal {
  v: 1;
  cid: string;
  kind: 'offer' | 'answer';
  sdp: string;
}

/** A trickled ICE candidate (`candidate` empty string = end of candidates). */
export interface CandidateSignal {
  v: 1;
  cid: string;
  kind: 'candidate';
  candidate: string;
  sdpMid: string | null;
  sdpMLineIndex: number | null;
}

/** The sender abandoned the attempt (gave up, or is closing). */
export interface ByeSignal {
  v: 1;
  cid: string;
  kind: 'bye';
}

/** Any peer signal. */
export type PeerSignal = DescriptionSignal | CandidateSignal | ByeSignal;

/** Longest SDP accepted (a data-channel-only SDP is 1–3 KB). */
const MAX_SDP_CHARS = 12 * 1024;
const CID = /^[A-Za-z0-9_-]{8,32}$/;

/** Encodes a signal as the opaque string the server forwards. */
export function encodePeerSignal(signal: PeerSignal): string {
  return JSON.stringify(signal);
}

/**
 * Decodes a signal from a peer; returns `null` for anything malformed (a signal is only a hint
 * to the WebRTC stack, so a bad one is dropped, never an error that stops the client).
 */
export function decodePeerSignal(text: string): PeerSignal | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  const o = v as Record<string, unknown>;
  const get = (k: string): unknown => (Object.hasOwn(o, k) ? o[k] : undefined);
  const keys = Object.keys(o);
  const cid = get('cid');
  if (get('v') !== PEER_SIGNAL_VERSION || typeof cid !== 'string' || !CID.test(cid)) return null;
  switch (get('kind')) {
    case 'offer':
    case 'answer': {
      const sdp = get('sdp');
      if (typeof sdp !== 'string' || sdp.length > MAX_SDP_CHARS || keys.length !== 4) return null;
      return { v: 1, cid, kind: get('kind') as 'offer' | 'answer', sdp };
    }
    case 'candidate': {
      const candidate = get('candidate');
      const sdpMid = get('sdpMid');
      const index = get('sdpMLineIndex');
      if (typeof candidate !== 'string' || candidate.length > 1024 || keys.length !== 6) return null;
      if (sdpMid !== null && (typeof sdpMid !== 'string' || sdpMid.length > 64)) return null;
      if (index !== null && (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index > 64)) return null;
      return { v: 1, cid, kind: 'candidate', candidate, sdpMid, sdpMLineIndex: index };
    }
    case 'bye':
      return keys.length === 3 ? { v: 1, cid, kind: 'bye' } : null;
    default:
      return null;
  }
}
