/**
 * One WebRTC connection attempt over a raw `RTCPeerConnection` (no simple-peer: see DESIGN §5
 * for the measured reason): one negotiated, reliable, ordered data channel, trickled ICE, and a
 * {@link LinkTransport} with direct access to `bufferedAmount` for back-pressure and to the
 * descriptions actually applied, from which identity binding reads the DTLS fingerprints.
 * Browser only (pages; `RTCPeerConnection` does not exist in workers).
 */
import { fingerprintFromSdp, type Fingerprint } from './binding.ts';
import { CONNECT_TIMEOUT_MS } from './constants.ts';
import { BindingError, P2pError } from './errors.ts';
import type { LinkTransport } from './link.ts';
import type { PeerSignal } from './signals.ts';

/** The connection attempt failed before its data channel opened. */
export class ConnectError extends P2pError {
  override name = 'ConnectError';
  readonly code = 'connect-failed';
}

/** Options of {@link RtcAttempt}. */
export interface RtcAttemptOptions {
  /** True on the side that makes the offer. */
  initiator: boolean;
  /** Connection attempt id, carried by every signal. */
  cid: string;
  iceServers: RTCIceServer[];
  /** Sends a signal to the peer (through the signaling server). */
  send(signal: PeerSignal): void;
  timeoutMs?: number;
}

type Handlers = Parameters<LinkTransport['attach']>[0];

/** The data channel of an open attempt, as a {@link LinkTransport}. */
class RtcTransport implements LinkTransport {
  private handlers: Handlers | null = null;
  private readonly early: Uint8Array[] = [];
  private closed = false;

  constructor(
    private readonly pc: RTCPeerConnection,
    private readonly channel: RTCDataChannel,
  ) {
    channel.onmessage = (e: MessageEvent) => {
      const data = e.data instanceof ArrayBuffer ? new Uint8Array(e.data) : null;
      // Text messages are not part of the protocol: an empty frame fails decoding as malformed.
      const frame = data ?? new Uint8Array(0);
      if (this.handlers) this.handlers.onMessage(frame);
      else this.early.push(frame);
    };
    channel.onbufferedamountlow = () => this.handlers?.onDrain();
    channel.onclose = () => this.closedByPeer();
  }

  get bufferedAmount(): number {
    return this.channel.bufferedAmount;
  }

  send(message: Uint8Array): void {
    this.channel.send(message as Uint8Array<ArrayBuffer>);
  }

  setLowWaterMark(bytes: number): void {
    this.channel.bufferedAmountLowThreshold = bytes;
  }

  attach(handlers: Handlers): void {
    this.handlers = handlers;
    for (const m of this.early.splice(0)) handlers.onMessage(m);
    if (this.closed) handlers.onClose();
  }

  fingerprints(): { local: Fingerprint; remote: Fingerprint } {
    // The descriptions *applied* to this connection — what DTLS actually checks — never the
    // signals as received, which a signaling server could have rewritten.
    const local = this.pc.currentLocalDescription?.sdp;
    const remote = this.pc.currentRemoteDescription?.sdp;
    if (!local || !remote) throw new BindingError('no-fingerprint', 'no applied session description');
    return { local: fingerprintFromSdp(local), remote: fingerprintFromSdp(remote) };
  }

  close(): void {
    if (this.closed) return;
    this.channel.close();
    this.pc.close();
    this.closedByPeer();
  }

  /** Connection lost or closed: tell the link once. */
  closedByPeer(): void {
    if (this.closed) return;
    this.closed = true;
    this.handlers?.onClose();
  }
}

/** One attempt to connect to a peer; resolves {@link open} with the transport or rejects. */
export class RtcAttempt {
  readonly cid: string;
  readonly pc: RTCPeerConnection;
  /** Settles once: the open transport, or a {@link ConnectError}. */
  readonly open: Promise<LinkTransport>;
  private readonly opts: RtcAttemptOptions;
  private readonly channel: RTCDataChannel;
  private transport: RtcTransport | null = null;
  private remoteSet = false;
  private readonly queuedCandidates: RTCIceCandidateInit[] = [];
  private settle!: { resolve(t: LinkTransport): void; reject(e: unknown): void };
  private done = false;
  private timer: ReturnType<typeof setTimeout>;

  constructor(opts: RtcAttemptOptions) {
    this.opts = opts;
    this.cid = opts.cid;
    this.open = new Promise((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    // Consumers attach later; an unobserved rejection must not be reported as unhandled.
    this.open.catch(() => undefined);
    this.pc = new RTCPeerConnection({ iceServers: opts.iceServers });
    // Negotiated (id 0) on both sides: no in-band DATA_CHANNEL_OPEN round trip, no ondatachannel.
    this.channel = this.pc.createDataChannel('backpact', { negotiated: true, id: 0, ordered: true });
    this.channel.binaryType = 'arraybuffer';
    this.channel.onopen = () => {
      if (this.done) return;
      this.done = true;
      clearTimeout(this.timer);
      this.transport = new RtcTransport(this.pc, this.channel);
      this.settle.resolve(this.transport);
    };
    this.pc.onicecandidate = (e) => {
      if (!e.candidate) return;
      opts.send({ v: 1, cid: this.cid, kind: 'candidate', candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid, sdpMLineIndex: e.candidate.sdpMLineIndex });
    };
    this.pc.onconnectionstatechange = () => {
      const s = this.pc.connectionState;
      if (s === 'failed' || s === 'closed') {
        this.fail(new ConnectError(`connection ${s}`));
        this.transport?.closedByPeer();
      }
    };
    this.timer = setTimeout(() => this.fail(new ConnectError(`no data channel within ${opts.timeoutMs ?? CONNECT_TIMEOUT_MS} ms`)), opts.timeoutMs ?? CONNECT_TIMEOUT_MS);
    if (opts.initiator) void this.offer();
  }

  /** Applies a signal from the peer for this attempt (`cid` already matched by the caller). */
  async handleSignal(signal: PeerSignal): Promise<void> {
    try {
      switch (signal.kind) {
        case 'offer':
          if (this.opts.initiator || this.remoteSet) return;
          await this.pc.setRemoteDescription({ type: 'offer', sdp: signal.sdp });
          await this.remoteApplied();
          await this.pc.setLocalDescription(await this.pc.createAnswer());
          this.opts.send({ v: 1, cid: this.cid, kind: 'answer', sdp: this.pc.localDescription!.sdp });
          return;
        case 'answer':
          if (!this.opts.initiator || this.remoteSet) return;
          await this.pc.setRemoteDescription({ type: 'answer', sdp: signal.sdp });
          await this.remoteApplied();
          return;
        case 'candidate': {
          const c: RTCIceCandidateInit = { candidate: signal.candidate, sdpMid: signal.sdpMid, sdpMLineIndex: signal.sdpMLineIndex };
          if (this.remoteSet) await this.pc.addIceCandidate(c);
          else if (this.queuedCandidates.length < 64) this.queuedCandidates.push(c);
          return;
        }
        case 'bye':
          this.fail(new ConnectError('the peer abandoned the attempt'));
          return;
      }
    } catch (err) {
      this.fail(new ConnectError(`bad ${signal.kind}: ${err instanceof Error ? err.message : String(err)}`));
    }
  }

  /** Abandons the attempt (or closes the connection it opened). */
  close(): void {
    this.fail(new ConnectError('attempt closed'));
    if (this.transport) this.transport.close();
    else this.pc.close();
  }

  private async offer(): Promise<void> {
    try {
      await this.pc.setLocalDescription(await this.pc.createOffer());
      this.opts.send({ v: 1, cid: this.cid, kind: 'offer', sdp: this.pc.localDescription!.sdp });
    } catch (err) {
      this.fail(new ConnectError(`could not make an offer: ${err instanceof Error ? err.message : String(err)}`));
    }
  }

  private async remoteApplied(): Promise<void> {
    this.remoteSet = true;
    for (const c of this.queuedCandidates.splice(0)) await this.pc.addIceCandidate(c).catch(() => undefined);
  }

  private fail(err: ConnectError): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    this.settle.reject(err);
    this.pc.close();
  }
}
