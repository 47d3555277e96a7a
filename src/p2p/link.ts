/**
 * A peer link: the framed request/response protocol over one reliable, ordered data channel,
 * opened only after identity binding succeeded (binding.ts). Independent of WebRTC: it runs over
 * any {@link LinkTransport}, so unit tests drive it in Node over an in-memory transport.
 *
 * Guarantees:
 * - No application frame is sent or delivered before both sides proved their identity over this
 *   very DTLS connection; a failed binding closes the transport.
 * - Every request gets exactly one outcome: a response, a {@link RemoteError}, a
 *   {@link RequestTimeoutError}, a {@link RequestCancelledError} or a {@link LinkClosedError}.
 * - Memory is bounded on both sides: senders wait while the channel holds more than the
 *   high-water mark, and each body stream is credit-limited to one window at the receiver.
 * - Malformed, oversized and unexpected frames are typed errors. A bad request header is answered
 *   with `bad-request` and the link carries on; a frame that breaks the framing itself (bad
 *   version, unknown kind, truncated header, flow-control violation, a duplicate stream) closes
 *   the link, because later frames can no longer be trusted to mean what they say.
 */
import { bytesEqual } from '../protocol/encoding.ts';
import { isAcceptablePublicKey } from '../protocol/keys.ts';
import { bindingTranscript, checkBinding, proveBinding, type BindingParty, type Fingerprint } from './binding.ts';
import {
  BINDING_TIMEOUT_MS,
  HIGH_WATER_MARK_BYTES,
  LOW_WATER_MARK_BYTES,
  MAX_DATA_BYTES,
  MAX_INCOMING_REQUESTS,
  MAX_PREBIND_BYTES,
  REQUEST_TIMEOUT_MS,
  STREAM_IDLE_TIMEOUT_MS,
} from './constants.ts';
import {
  BindingError,
  FlowControlError,
  LinkClosedError,
  P2pError,
  RemoteError,
  RequestCancelledError,
  RequestRefusedError,
  RequestTimeoutError,
  TransportError,
  UnexpectedFrameError,
  type LinkCloseReason,
} from './errors.ts';
import { decodeFrame, encodeDataFrame, encodeFrame, FRAME_KINDS, peekStreamId, type BindingMode, type Frame, type LinkMessage } from './frames.ts';
import type { LinkIdentity } from './identity.ts';
import { chunksOf, IncomingBody, SendCredit, type BodySource } from './streams.ts';

/**
 * A reliable, ordered message transport with back-pressure information: what a peer link needs
 * from an `RTCDataChannel`. Implementations must buffer messages that arrive before
 * {@link attach} and deliver them, in order, once attached.
 */
export interface LinkTransport {
  /** Sends one message of at most 64 KiB. Throws when the transport is closed or its queue is full. */
  send(message: Uint8Array): void;
  /** Bytes queued and not yet handed to the network. */
  readonly bufferedAmount: number;
  /** Sets the level at or below which `onDrain` fires (`bufferedAmountLowThreshold`). */
  setLowWaterMark(bytes: number): void;
  /** Installs the handlers; called once. */
  attach(handlers: { onMessage(data: Uint8Array): void; onDrain(): void; onClose(): void }): void;
  /** The DTLS fingerprints as applied to this connection: ours and the remote's. */
  fingerprints(): { local: Fingerprint; remote: Fingerprint };
  /** Closes the transport; `onClose` fires (once) if it had not already. */
  close(): void;
}

/** What the link expects of the peer's identity. */
export type PeerExpectation =
  /** A known partner: the peer must hold exactly this key. */
  | { mode: 'pinned'; publicKey: Uint8Array }
  /**
   * An invite: the peer must know the invite secret. The guest knows the inviter's key from the
   * link (`publicKey`); the inviter does not yet know the guest's (`publicKey` omitted).
   */
  | { mode: 'invite'; secret: Uint8Array; publicKey?: Uint8Array };

/** A request received from the peer. */
export interface IncomingRequest {
  readonly message: LinkMessage;
  /** The request body, when the peer sent one. */
  readonly body: IncomingBody | null;
  /** Aborted when the peer cancels the request or the link closes. */
  readonly signal: AbortSignal;
}

/** A handler's answer. */
export interface OutgoingResponse {
  message: LinkMessage;
  body?: BodySource;
}

/**
 * Serves requests from the peer. Throw {@link RequestRefusedError} to answer with a specific
 * code; any other exception is answered `internal`.
 */
export type RequestHandler = (request: IncomingRequest) => Promise<OutgoingResponse> | OutgoingResponse;

/** The answer to a request. */
export interface LinkResponse {
  message: LinkMessage;
  /** The response body, when the peer sent one; read it to completion or cancel it. */
  body: IncomingBody | null;
}

/** Options of {@link PeerLink.request}. */
export interface RequestOptions {
  body?: BodySource;
  /** Time for the response header to arrive, ms. Default {@link REQUEST_TIMEOUT_MS}. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Options of {@link PeerLink.open}. */
export interface PeerLinkOptions {
  transport: LinkTransport;
  identity: LinkIdentity;
  /** True on the side that created the connection (its requests get odd stream ids). */
  initiator: boolean;
  expect: PeerExpectation;
  handler?: RequestHandler;
  bindingTimeoutMs?: number;
  highWaterMark?: number;
  lowWaterMark?: number;
  /** Random bytes (WebCrypto by default). */
  random?: (n: number) => Uint8Array;
  /** Monotonic clock, ms. */
  now?: () => number;
}

/** Why and how a link ended. */
export interface LinkClosed {
  reason: LinkCloseReason;
  /** The error behind a `protocol`, `binding` or `transport` close. */
  error?: P2pError;
  /** The peer's close code, for a `remote` close. */
  remoteCode?: string;
}

/** Byte counters of a link (frame bytes, headers included). */
export interface LinkStats {
  bytesSent: number;
  bytesReceived: number;
  framesSent: number;
  framesReceived: number;
  /** Frames for finished or unknown streams, dropped. */
  staleFrames: number;
}

interface Outgoing {
  id: number;
  resolve(r: LinkResponse): void;
  reject(e: unknown): void;
  timer: ReturnType<typeof setTimeout> | undefined;
  answered: boolean;
  credit: SendCredit | null;
  body: IncomingBody | null;
  cleanup(): void;
}

interface Incoming {
  id: number;
  controller: AbortController;
  body: IncomingBody | null;
  credit: SendCredit;
}

function defaultRandom(n: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(n));
}

const IDLE_CHECK_MS = 5_000;

/** An authenticated, framed link to one peer. Create with {@link PeerLink.open}. */
export class PeerLink {
  /** The peer's identity key, as proven by binding. */
  peerKey: Uint8Array = new Uint8Array(0);
  /** Settles once, when the link has closed. */
  readonly closed: Promise<LinkClosed>;
  readonly stats: LinkStats = { bytesSent: 0, bytesReceived: 0, framesSent: 0, framesReceived: 0, staleFrames: 0 };

  private readonly transport: LinkTransport;
  private readonly opts: PeerLinkOptions;
  private readonly highWater: number;
  private readonly now: () => number;
  private handler: RequestHandler | undefined;
  private bound = false;
  private closedInfo: LinkClosed | null = null;
  private resolveClosed!: (c: LinkClosed) => void;
  private nextId: number;
  private readonly mine = new Map<number, Outgoing>();
  private readonly theirs = new Map<number, Incoming>();
  private drainWaiters: { resolve(): void; reject(e: unknown): void }[] = [];
  private idleTimer: ReturnType<typeof setInterval> | undefined;
  /** Frames received before binding completed, in order. */
  private readonly prebind: Uint8Array[] = [];
  private prebindBytes = 0;
  private prebindWaiter: (() => void) | null = null;

  private constructor(opts: PeerLinkOptions) {
    this.opts = opts;
    this.transport = opts.transport;
    this.handler = opts.handler;
    this.highWater = opts.highWaterMark ?? HIGH_WATER_MARK_BYTES;
    this.now = opts.now ?? (() => performance.now());
    this.nextId = opts.initiator ? 1 : 2;
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    this.transport.setLowWaterMark(opts.lowWaterMark ?? LOW_WATER_MARK_BYTES);
    this.transport.attach({
      onMessage: (data) => this.onMessage(data),
      onDrain: () => this.onDrain(),
      onClose: () => this.shutdown({ reason: 'transport', error: new LinkClosedError('transport', 'the data channel closed') }),
    });
  }

  /**
   * Binds identities over an open transport and resolves with the link, ready for requests.
   * Rejects with {@link BindingError} (or {@link LinkClosedError} if the transport closed) and
   * closes the transport on any failure; no application frame has then been exchanged.
   */
  static async open(opts: PeerLinkOptions): Promise<PeerLink> {
    const link = new PeerLink(opts);
    const timeoutMs = opts.bindingTimeoutMs ?? BINDING_TIMEOUT_MS;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new BindingError('timeout', `binding did not finish within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([link.bind(), timeout, link.closed.then((c) => Promise.reject(c.error ?? new LinkClosedError(c.reason)))]);
    } catch (err) {
      const error = err instanceof P2pError ? err : new BindingError('internal', `binding failed on our side: ${err instanceof Error ? err.message : String(err)}`);
      if (error instanceof BindingError) link.abort('binding', error, 'binding-failed');
      else link.abort('protocol', error, error.code);
      throw error;
    } finally {
      clearTimeout(timer);
    }
    return link;
  }

  /** True until the link closes. */
  get isOpen(): boolean {
    return this.closedInfo === null;
  }

  /** Replaces the handler of incoming requests. Without one, requests are answered `no-handler`. */
  setHandler(handler: RequestHandler | undefined): void {
    this.handler = handler;
  }

  /**
   * Sends a request and resolves with the response header (and its body stream, if any). The
   * request body, if given, is streamed with back-pressure while waiting.
   */
  request(message: LinkMessage, options: RequestOptions = {}): Promise<LinkResponse> {
    if (this.closedInfo) return Promise.reject(new LinkClosedError(this.closedInfo.reason));
    if (options.signal?.aborted) return Promise.reject(new RequestCancelledError('cancelled before sending'));
    const id = this.nextId;
    this.nextId += 2;
    if (this.nextId > 0xffff_ffff) this.nextId = this.opts.initiator ? 1 : 2;
    return new Promise<LinkResponse>((resolve, reject) => {
      const onAbort = (): void => this.finishOutgoing(id, new RequestCancelledError('request cancelled'), true);
      const out: Outgoing = {
        id,
        resolve,
        reject,
        answered: false,
        credit: options.body === undefined ? null : new SendCredit(),
        body: null,
        timer: undefined,
        cleanup: () => options.signal?.removeEventListener('abort', onAbort),
      };
      const timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS;
      out.timer = setTimeout(() => this.finishOutgoing(id, new RequestTimeoutError(`no response within ${timeoutMs} ms`), true), timeoutMs);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.mine.set(id, out);
      void this.sendRequest(out, message, options.body).catch((err: unknown) => this.finishOutgoing(id, err, true));
    });
  }

  /**
   * Closes the link: tells the peer (best effort), closes the transport and fails everything
   * pending with {@link LinkClosedError}. Idempotent.
   */
  close(code = 'going-away', message = ''): void {
    if (this.closedInfo) return;
    this.sendControl(encodeFrame({ kind: 'close', code, message }));
    this.shutdown({ reason: 'local' });
    this.transport.close();
  }

  // ---- binding ---------------------------------------------------------------------------

  private async bind(): Promise<void> {
    const { expect, identity } = this.opts;
    const mode: BindingMode = expect.mode;
    const random = this.opts.random ?? defaultRandom;
    const nonce = random(32);
    this.sendControl(encodeFrame({ kind: 'hello', mode, nonce, publicKey: identity.publicKey }));

    const hello = await this.nextBindingFrame();
    if (hello.kind !== 'hello') throw new UnexpectedFrameError(`expected hello, got ${hello.kind}`);
    if (hello.mode !== mode) throw new BindingError('mode-mismatch', `peer wants ${hello.mode} binding, we want ${mode}`);
    if (!isAcceptablePublicKey(hello.publicKey)) throw new BindingError('bad-key');
    if (expect.publicKey && !bytesEqual(hello.publicKey, expect.publicKey)) throw new BindingError('identity-mismatch', 'the peer presented a different identity key');

    const fps = this.transport.fingerprints();
    const own: BindingParty = { fingerprint: fps.local, nonce, publicKey: identity.publicKey };
    const peer: BindingParty = { fingerprint: fps.remote, nonce: hello.nonce, publicKey: hello.publicKey };
    const secret = expect.mode === 'invite' ? expect.secret : null;
    const proof = await proveBinding(identity, bindingTranscript(mode, own, peer), secret);
    this.sendControl(encodeFrame({ kind: 'auth', signature: proof.signature, mac: proof.mac }));

    const auth = await this.nextBindingFrame();
    if (auth.kind !== 'auth') throw new UnexpectedFrameError(`expected auth, got ${auth.kind}`);
    await checkBinding(peer.publicKey, bindingTranscript(mode, peer, own), auth, secret);

    if (this.closedInfo) throw new LinkClosedError(this.closedInfo.reason);
    this.peerKey = hello.publicKey;
    this.bound = true;
    this.idleTimer = setInterval(() => this.checkIdle(), IDLE_CHECK_MS);
    // Frames the peer sent after verifying us, while we were still verifying it.
    const queued = this.prebind.splice(0);
    this.prebindBytes = 0;
    for (const f of queued) {
      if (this.closedInfo) break;
      this.dispatch(f);
    }
  }

  private async nextBindingFrame(): Promise<Frame> {
    while (this.prebind.length === 0) {
      if (this.closedInfo) throw this.closedInfo.error ?? new LinkClosedError(this.closedInfo.reason);
      await new Promise<void>((resolve) => {
        this.prebindWaiter = resolve;
      });
    }
    const raw = this.prebind.shift()!;
    this.prebindBytes -= raw.length;
    const frame = decodeFrame(raw);
    if (frame.kind !== 'hello' && frame.kind !== 'auth' && frame.kind !== 'close') {
      throw new UnexpectedFrameError(`${frame.kind} frame before identity binding`);
    }
    if (frame.kind === 'close') throw new LinkClosedError('remote', `peer closed during binding: ${frame.code}`);
    return frame;
  }

  // ---- receiving -------------------------------------------------------------------------

  private onMessage(data: Uint8Array): void {
    if (this.closedInfo) return;
    this.stats.bytesReceived += data.length;
    this.stats.framesReceived++;
    if (!this.bound) {
      this.prebindBytes += data.length;
      if (this.prebindBytes > MAX_PREBIND_BYTES) {
        this.abort('protocol', new UnexpectedFrameError('too much data before identity binding'), 'protocol-error');
        return;
      }
      this.prebind.push(data);
      const w = this.prebindWaiter;
      this.prebindWaiter = null;
      w?.();
      return;
    }
    this.dispatch(data);
  }

  private isMine(id: number): boolean {
    return (id & 1) === (this.opts.initiator ? 1 : 0);
  }

  private dispatch(data: Uint8Array): void {
    let frame: Frame;
    try {
      frame = decodeFrame(data);
    } catch (err) {
      const error = err as P2pError;
      // A request whose header alone is bad is refused and the link carries on.
      const id = peekStreamId(data);
      if (data[1] === FRAME_KINDS.request && id !== null && id !== 0 && !this.isMine(id) && !this.theirs.has(id)) {
        this.sendControl(encodeFrame({ kind: 'error', id, code: 'bad-request', message: error.message }));
        return;
      }
      this.abort('protocol', error, error.code);
      return;
    }
    switch (frame.kind) {
      case 'hello':
      case 'auth':
        this.abort('protocol', new UnexpectedFrameError(`${frame.kind} frame after binding`), 'unexpected-frame');
        return;
      case 'close':
        this.shutdown({ reason: 'remote', remoteCode: frame.code });
        this.transport.close();
        return;
      case 'request':
        this.onRequest(frame.id, frame.message, frame.hasBody);
        return;
      case 'response':
        this.onResponse(frame.id, frame.message, frame.hasBody);
        return;
      case 'error': {
        const out = this.isMine(frame.id) ? this.mine.get(frame.id) : undefined;
        if (!out) {
          this.stats.staleFrames++;
          return;
        }
        this.finishOutgoing(frame.id, new RemoteError(frame.code, frame.message), false);
        return;
      }
      case 'cancel': {
        const inc = this.isMine(frame.id) ? undefined : this.theirs.get(frame.id);
        if (!inc) {
          this.stats.staleFrames++;
          return;
        }
        this.finishIncoming(inc, new RequestCancelledError('the peer cancelled the request'));
        return;
      }
      case 'data':
      case 'end': {
        const body = this.isMine(frame.id) ? this.mine.get(frame.id)?.body : this.theirs.get(frame.id)?.body;
        if (!body) {
          this.stats.staleFrames++;
          return;
        }
        if (frame.kind === 'end') {
          body.end();
          if (this.isMine(frame.id)) this.finishOutgoing(frame.id, null, false);
          return;
        }
        if (!body.push(frame.bytes, this.now())) {
          this.abort('protocol', new FlowControlError(`stream ${frame.id} exceeded its window`), 'flow-control');
        }
        return;
      }
      case 'credit': {
        const credit = this.isMine(frame.id) ? this.mine.get(frame.id)?.credit : this.theirs.get(frame.id)?.credit;
        if (!credit) {
          this.stats.staleFrames++;
          return;
        }
        credit.add(frame.bytes);
        return;
      }
    }
  }

  private onRequest(id: number, message: LinkMessage, hasBody: boolean): void {
    if (this.isMine(id) || this.theirs.has(id)) {
      this.abort('protocol', new UnexpectedFrameError(`request with stream id ${id} that is not the peer's to open`), 'unexpected-frame');
      return;
    }
    if (this.theirs.size >= MAX_INCOMING_REQUESTS) {
      this.sendControl(encodeFrame({ kind: 'error', id, code: 'busy', message: 'too many requests in progress' }));
      return;
    }
    const controller = new AbortController();
    const inc: Incoming = { id, controller, credit: new SendCredit(), body: null };
    if (hasBody) {
      inc.body = new IncomingBody(
        (bytes) => this.sendControl(encodeFrame({ kind: 'credit', id, bytes })),
        () => undefined, // the handler's answer ends the request; the requester then stops sending
      );
      inc.body.lastActivity = this.now();
    }
    this.theirs.set(id, inc);
    void this.serve(inc, message);
  }

  private async serve(inc: Incoming, message: LinkMessage): Promise<void> {
    const { id } = inc;
    let response: OutgoingResponse;
    try {
      const handler = this.handler;
      if (!handler) throw new RequestRefusedError('no-handler', 'this peer serves no requests');
      response = await handler({ message, body: inc.body, signal: inc.controller.signal });
    } catch (err) {
      if (this.theirs.get(id) !== inc) return;
      const code = err instanceof RequestRefusedError ? err.replyCode : 'internal';
      const text = err instanceof RequestRefusedError ? err.message : 'the request failed';
      this.sendControl(encodeFrame({ kind: 'error', id, code, message: text }));
      this.finishIncoming(inc, null);
      return;
    }
    const alive = (): boolean => this.theirs.get(id) === inc;
    if (!alive()) return; // cancelled meanwhile
    try {
      await this.write(encodeFrame({ kind: 'response', id, message: response.message, hasBody: response.body !== undefined }), alive);
      if (response.body !== undefined) await this.sendBody(id, response.body, inc.credit, alive);
    } catch (err) {
      if (alive() && !(err instanceof LinkClosedError)) {
        this.sendControl(encodeFrame({ kind: 'error', id, code: 'internal', message: 'the response failed' }));
      }
    }
    this.finishIncoming(inc, null);
  }

  private onResponse(id: number, message: LinkMessage, hasBody: boolean): void {
    const out = this.isMine(id) ? this.mine.get(id) : undefined;
    if (!out) {
      this.stats.staleFrames++;
      return;
    }
    if (out.answered) {
      this.abort('protocol', new UnexpectedFrameError(`second response on stream ${id}`), 'unexpected-frame');
      return;
    }
    out.answered = true;
    clearTimeout(out.timer);
    out.timer = undefined;
    if (hasBody) {
      out.body = new IncomingBody(
        (bytes) => this.sendControl(encodeFrame({ kind: 'credit', id, bytes })),
        () => this.finishOutgoing(id, new RequestCancelledError('response body cancelled'), true),
      );
      out.body.lastActivity = this.now();
    }
    out.resolve({ message, body: out.body });
    if (!hasBody) this.finishOutgoing(id, null, false);
  }

  /**
   * Ends one of our requests. `error` null: normal completion. Otherwise the promise (if not yet
   * resolved) rejects and the response body (if any) fails with it; `tellPeer` sends a cancel.
   */
  private finishOutgoing(id: number, error: unknown, tellPeer: boolean): void {
    const out = this.mine.get(id);
    if (!out) return;
    this.mine.delete(id);
    clearTimeout(out.timer);
    out.cleanup();
    out.credit?.fail(error ?? new RequestCancelledError('request finished'));
    if (error) {
      out.reject(error);
      out.body?.fail(error);
      if (tellPeer && !this.closedInfo) this.sendControl(encodeFrame({ kind: 'cancel', id }));
    }
  }

  private finishIncoming(inc: Incoming, error: unknown): void {
    if (this.theirs.get(inc.id) !== inc) return;
    this.theirs.delete(inc.id);
    const err = error ?? new RequestCancelledError('request finished');
    inc.credit.fail(err);
    if (error) {
      inc.controller.abort(error);
      inc.body?.fail(error);
    } else {
      // The requester stops sending once answered; drop whatever of its body is unread.
      inc.body?.fail(new RequestCancelledError('request answered before its body was read'));
    }
  }

  // ---- sending ---------------------------------------------------------------------------

  private async sendRequest(out: Outgoing, message: LinkMessage, body: BodySource | undefined): Promise<void> {
    const alive = (): boolean => this.mine.get(out.id) === out;
    await this.write(encodeFrame({ kind: 'request', id: out.id, message, hasBody: body !== undefined }), alive);
    if (body !== undefined && out.credit) await this.sendBody(out.id, body, out.credit, alive);
  }

  private async sendBody(id: number, source: BodySource, credit: SendCredit, alive: () => boolean): Promise<void> {
    for await (const chunk of chunksOf(source)) {
      let offset = 0;
      while (offset < chunk.length) {
        const n = await credit.acquire(Math.min(MAX_DATA_BYTES, chunk.length - offset));
        await this.write(encodeDataFrame(id, chunk, offset, n), alive);
        offset += n;
      }
    }
    if (alive()) this.sendControl(encodeFrame({ kind: 'end', id }));
  }

  /**
   * Writes a frame once the channel is below the high-water mark. `alive` is checked after any
   * wait: a stream cancelled meanwhile sends nothing more.
   */
  private async write(frame: Uint8Array, alive: () => boolean): Promise<void> {
    while (this.transport.bufferedAmount > this.highWater) {
      if (this.closedInfo) throw new LinkClosedError(this.closedInfo.reason);
      await new Promise<void>((resolve, reject) => this.drainWaiters.push({ resolve, reject }));
    }
    if (this.closedInfo) throw new LinkClosedError(this.closedInfo.reason);
    if (!alive()) throw new RequestCancelledError('stream ended while waiting to send');
    this.sendNow(frame);
  }

  /**
   * Writes a small control frame at once, ignoring the high-water mark: credit, cancel and end
   * frames must not queue behind bulk data or a busy peer could stall the other direction.
   */
  private sendControl(frame: Uint8Array): void {
    if (this.closedInfo) return;
    try {
      this.sendNow(frame);
    } catch {
      // sendNow already closed the link
    }
  }

  private sendNow(frame: Uint8Array): void {
    try {
      this.transport.send(frame);
    } catch (err) {
      const error = new TransportError('the data channel refused a message', { cause: err });
      this.shutdown({ reason: 'transport', error });
      this.transport.close();
      throw error;
    }
    this.stats.bytesSent += frame.length;
    this.stats.framesSent++;
  }

  private onDrain(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w.resolve();
  }

  private checkIdle(): void {
    const now = this.now();
    const stalled = (body: IncomingBody | null): boolean => body !== null && !body.done && now - body.lastActivity > STREAM_IDLE_TIMEOUT_MS;
    for (const out of [...this.mine.values()]) {
      if (stalled(out.body)) this.finishOutgoing(out.id, new RequestTimeoutError('response body stalled'), true);
    }
    for (const inc of [...this.theirs.values()]) {
      if (stalled(inc.body)) {
        this.sendControl(encodeFrame({ kind: 'error', id: inc.id, code: 'timeout', message: 'request body stalled' }));
        this.finishIncoming(inc, new RequestTimeoutError('request body stalled'));
      }
    }
  }

  // ---- closing ---------------------------------------------------------------------------

  /** Closes after a protocol or binding failure, telling the peer why. */
  private abort(reason: LinkCloseReason, error: P2pError, code: string): void {
    if (this.closedInfo) return;
    this.sendControl(encodeFrame({ kind: 'close', code, message: error.message }));
    this.shutdown({ reason, error });
    this.transport.close();
  }

  private shutdown(info: LinkClosed): void {
    if (this.closedInfo) return;
    this.closedInfo = info;
    clearInterval(this.idleTimer);
    const err = new LinkClosedError(info.reason, undefined, { cause: info.error });
    for (const id of [...this.mine.keys()]) this.finishOutgoing(id, err, false);
    for (const inc of [...this.theirs.values()]) this.finishIncoming(inc, err);
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w.reject(err);
    this.prebind.length = 0;
    const pw = this.prebindWaiter;
    this.prebindWaiter = null;
    pw?.();
    this.resolveClosed(info);
  }
}
