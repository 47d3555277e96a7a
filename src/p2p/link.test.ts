/**
 * The link protocol over an in-memory transport: binding (pinned, invite, MITM, wrong identity),
 * requests with bodies in both directions, back-pressure, credit, timeouts, cancellation, remote
 * errors, and hostile frames after binding.
 */
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bindingTranscript, proveBinding } from './binding.ts';
import { HIGH_WATER_MARK_BYTES, MAX_FRAME_BYTES, MAX_INCOMING_REQUESTS, STREAM_WINDOW_BYTES } from './constants.ts';
import { BindingError, LinkClosedError, RemoteError, RequestCancelledError, RequestRefusedError, RequestTimeoutError } from './errors.ts';
import { decodeFrame, encodeFrame, type Frame } from './frames.ts';
import { identityFromSeed, type LinkIdentity } from './identity.ts';
import { PeerLink, type OutgoingResponse, type PeerExpectation, type RequestHandler } from './link.ts';
import { memoryTransportPair, testFingerprint, type MemoryTransport, type MemoryTransportOptions } from './testing/memory-transport.ts';

const newIdentity = (): LinkIdentity => identityFromSeed(randomBytes(32));
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

interface PairOptions {
  a?: LinkIdentity;
  b?: LinkIdentity;
  aExpect?: (b: LinkIdentity) => PeerExpectation;
  bExpect?: (a: LinkIdentity) => PeerExpectation;
  aHandler?: RequestHandler;
  bHandler?: RequestHandler;
  transport?: MemoryTransportOptions;
  bindingTimeoutMs?: number;
}

async function pair(opts: PairOptions = {}) {
  const ia = opts.a ?? newIdentity();
  const ib = opts.b ?? newIdentity();
  const [ta, tb] = memoryTransportPair(opts.transport);
  const results = await Promise.allSettled([
    PeerLink.open({ transport: ta, identity: ia, initiator: true, expect: opts.aExpect?.(ib) ?? { mode: 'pinned', publicKey: ib.publicKey }, handler: opts.aHandler, bindingTimeoutMs: opts.bindingTimeoutMs }),
    PeerLink.open({ transport: tb, identity: ib, initiator: false, expect: opts.bExpect?.(ia) ?? { mode: 'pinned', publicKey: ia.publicKey }, handler: opts.bHandler, bindingTimeoutMs: opts.bindingTimeoutMs }),
  ]);
  return { ia, ib, ta, tb, results };
}

async function bound(opts: PairOptions = {}) {
  const p = await pair(opts);
  const [ra, rb] = p.results;
  if (ra.status !== 'fulfilled' || rb.status !== 'fulfilled') throw new Error(`binding failed: ${String(ra.status === 'rejected' ? ra.reason : (rb as PromiseRejectedResult).reason)}`);
  return { ...p, a: ra.value, b: rb.value };
}

/**
 * A hand-driven peer on one raw transport that binds correctly and then lets a test send any
 * bytes: for frames a real PeerLink would never send.
 */
async function rawPeer(t: MemoryTransport, identity: LinkIdentity, peerKey: Uint8Array) {
  const received: Frame[] = [];
  let closed = false;
  let wake: (() => void) | null = null;
  t.setLowWaterMark(0);
  t.attach({
    onMessage: (d) => {
      received.push(decodeFrame(d));
      wake?.();
    },
    onDrain: () => {},
    onClose: () => {
      closed = true;
      wake?.();
    },
  });
  const next = async (kind?: Frame['kind']): Promise<Frame> => {
    for (;;) {
      const i = received.findIndex((f) => !kind || f.kind === kind);
      if (i >= 0) return received.splice(i, 1)[0]!;
      if (closed) throw new Error('closed');
      await new Promise<void>((r) => (wake = r));
    }
  };
  const nonce = new Uint8Array(32).fill(0x42);
  t.send(encodeFrame({ kind: 'hello', mode: 'pinned', nonce, publicKey: identity.publicKey }));
  const hello = await next('hello');
  if (hello.kind !== 'hello') throw new Error('unreachable');
  const fps = t.fingerprints();
  const own = { fingerprint: fps.local, nonce, publicKey: identity.publicKey };
  const peer = { fingerprint: fps.remote, nonce: hello.nonce, publicKey: peerKey };
  const proof = await proveBinding(identity, bindingTranscript('pinned', own, peer), null);
  t.send(encodeFrame({ kind: 'auth', ...proof }));
  await next('auth');
  return { next, send: (b: Uint8Array) => t.send(b), isClosed: () => closed, received };
}

const echo: RequestHandler = async (req): Promise<OutgoingResponse> => {
  if (!req.body) return { message: { type: 'echo', got: req.message.type } };
  const bytes = await req.body.bytes();
  return { message: { type: 'echo', got: req.message.type, sha: sha(bytes), size: bytes.length } };
};

describe('identity binding', () => {
  it('binds two pinned partners and reports each other\'s key', async () => {
    const { a, b, ia, ib } = await bound();
    expect(a.peerKey).toEqual(ib.publicKey);
    expect(b.peerKey).toEqual(ia.publicKey);
    a.close();
  });

  it('refuses a peer that presents another identity, before any request is served', async () => {
    let served = 0;
    const impostor = newIdentity();
    const expected = newIdentity();
    const { results, ta, tb } = await pair({ b: impostor, aExpect: () => ({ mode: 'pinned', publicKey: expected.publicKey }), aHandler: () => ((served++), { message: { type: 'x' } }), bHandler: () => ((served++), { message: { type: 'x' } }) });
    expect(results[0].status).toBe('rejected');
    expect((results[0] as PromiseRejectedResult).reason).toBeInstanceOf(BindingError);
    expect((results[0] as PromiseRejectedResult).reason).toMatchObject({ reason: 'identity-mismatch' });
    expect(results[1].status).toBe('rejected');
    expect(ta.closed && tb.closed).toBe(true);
    expect(served).toBe(0);
  });

  it('fails when each side sees a different certificate pair (a man in the middle)', async () => {
    const { results } = await pair({
      transport: {
        fingerprints: {
          a: { local: testFingerprint(0xaa), remote: testFingerprint(0xe1) },
          b: { local: testFingerprint(0xbb), remote: testFingerprint(0xe2) },
        },
      },
    });
    for (const r of results) {
      expect(r.status).toBe('rejected');
    }
    const reasons = results.map((r) => (r as PromiseRejectedResult).reason);
    expect(reasons.some((e) => e instanceof BindingError && e.reason === 'bad-signature')).toBe(true);
  });

  it('binds an invite: the guest pins the inviter, the inviter admits whoever knows the secret', async () => {
    const secret = randomBytes(32);
    const { a, b, ia } = await bound({
      aExpect: (inviter) => ({ mode: 'invite', secret, publicKey: inviter.publicKey }), // a is the guest
      bExpect: () => ({ mode: 'invite', secret }), // b is the inviter
    });
    expect(b.peerKey).toEqual(ia.publicKey);
    a.close();
  });

  it('refuses an invite guest without the secret, and mixed modes', async () => {
    const { results } = await pair({ aExpect: (i) => ({ mode: 'invite', secret: new Uint8Array(32).fill(1), publicKey: i.publicKey }), bExpect: () => ({ mode: 'invite', secret: new Uint8Array(32).fill(2) }) });
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(results.map((r) => (r as PromiseRejectedResult).reason.reason)).toContain('bad-mac');
    const mixed = await pair({ bExpect: () => ({ mode: 'invite', secret: new Uint8Array(32) }) });
    expect(mixed.results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    // Whichever side reads the other's hello first refuses it; the other sees the link close.
    expect(mixed.results.map((r) => (r as PromiseRejectedResult).reason.reason)).toContain('mode-mismatch');
  });

  it('refuses an application frame sent before binding', async () => {
    const ia = newIdentity();
    const ib = newIdentity();
    const [ta, tb] = memoryTransportPair();
    tb.attach({ onMessage: () => {}, onDrain: () => {}, onClose: () => {} });
    tb.send(encodeFrame({ kind: 'request', id: 2, message: { type: 'sneaky' }, hasBody: false }));
    await expect(PeerLink.open({ transport: ta, identity: ia, initiator: true, expect: { mode: 'pinned', publicKey: ib.publicKey }, handler: () => { throw new Error('must not run'); } })).rejects.toMatchObject({ code: 'unexpected-frame' });
    expect(ta.closed).toBe(true);
  });

  it('times out when the peer never answers', async () => {
    const ib = newIdentity();
    const [ta, tb] = memoryTransportPair();
    tb.attach({ onMessage: () => {}, onDrain: () => {}, onClose: () => {} });
    await expect(PeerLink.open({ transport: ta, identity: newIdentity(), initiator: true, expect: { mode: 'pinned', publicKey: ib.publicKey }, bindingTimeoutMs: 50 })).rejects.toMatchObject({ reason: 'timeout' });
  });
});

describe('requests', () => {
  it('answers requests both ways, with bodies that arrive intact', async () => {
    const { a, b } = await bound({ aHandler: echo, bHandler: echo });
    const big = randomBytes(9 * 1024 * 1024 + 123);
    const [r1, r2, r3] = await Promise.all([
      a.request({ type: 'ping' }),
      a.request({ type: 'store' }, { body: big }),
      b.request({ type: 'store' }, { body: (function* () { yield big.subarray(0, 5); yield new Uint8Array(0); yield big.subarray(5); })() }),
    ]);
    expect(r1.message).toEqual({ type: 'echo', got: 'ping' });
    expect(r2.message).toEqual({ type: 'echo', got: 'store', sha: sha(big), size: big.length });
    expect(r3.message).toEqual({ type: 'echo', got: 'store', sha: sha(big), size: big.length });
    a.close();
  });

  it('streams a response body and cleans up its stream', async () => {
    const blob = randomBytes(5 * 1024 * 1024);
    const { a, b } = await bound({ bHandler: () => ({ message: { type: 'shard' }, body: blob }) });
    const res = await a.request({ type: 'get' });
    expect(res.message).toEqual({ type: 'shard' });
    expect(sha(await res.body!.bytes())).toBe(sha(blob));
    // Everything finished: a late frame for the stream is counted as stale, not delivered.
    expect(b.isOpen && a.isOpen).toBe(true);
    a.close();
  });

  it('reads a response body into a buffer of the announced size, and refuses one longer than announced', async () => {
    const blob = randomBytes(3 * 1024 * 1024 + 17);
    const { a, b } = await bound({ bHandler: () => ({ message: { type: 'shard' }, body: blob }) });
    const exact = await (await a.request({ type: 'get' })).body!.bytes(undefined, blob.length);
    expect(exact.length).toBe(blob.length);
    expect(exact.buffer.byteLength).toBe(blob.length);
    expect(sha(exact)).toBe(sha(blob));
    // Announced more than sent: what came, for the caller to compare.
    const short = await (await a.request({ type: 'get' })).body!.bytes(undefined, blob.length + 5);
    expect(sha(short)).toBe(sha(blob));
    await expect((await a.request({ type: 'get' })).body!.bytes(undefined, blob.length - 1)).rejects.toThrow(RangeError);
    // An announcement beyond the limit falls back to the limit, which the body then exceeds.
    await expect((await a.request({ type: 'get' })).body!.bytes(1024 * 1024, 64 * 1024 * 1024)).rejects.toThrow(RangeError);
    expect(b.isOpen && a.isOpen).toBe(true);
    a.close();
  });

  it('keeps the sender under the high-water mark and a slow reader under one window', async () => {
    const blob = randomBytes(24 * 1024 * 1024);
    let maxUnread = 0;
    const sender: { link?: PeerLink; transport?: MemoryTransport } = {};
    const handler: RequestHandler = async (req) => {
      let consumed = 0;
      for await (const chunk of req.body!) {
        consumed += chunk.length;
        // Bytes that left the sender's queue (so reached this side) but were not read yet.
        const delivered = sender.link!.stats.bytesSent - sender.transport!.bufferedAmount;
        maxUnread = Math.max(maxUnread, delivered - consumed);
        // A slow consumer (think IndexedDB): the sender runs ahead as far as it is allowed.
        await new Promise((r) => setTimeout(r, 1));
      }
      return { message: { type: 'done', n: consumed } };
    };
    const { a, ta } = await bound({ bHandler: handler, transport: { bytesPerTick: 256 * 1024 } });
    sender.link = a;
    sender.transport = ta;
    const res = await a.request({ type: 'put' }, { body: blob, timeoutMs: 120_000 });
    expect(res.message).toEqual({ type: 'done', n: blob.length });
    // Channel queue: at most the high-water mark plus one frame.
    expect(ta.maxBufferedAmount).toBeLessThanOrEqual(HIGH_WATER_MARK_BYTES + MAX_FRAME_BYTES);
    // The slow reader never held much more than one window (frame headers and the request
    // header account for the slack): the sender waited for credit.
    expect(maxUnread).toBeGreaterThan(STREAM_WINDOW_BYTES / 2);
    expect(maxUnread).toBeLessThanOrEqual(STREAM_WINDOW_BYTES + 64 * 1024);
    a.close();
  }, 60_000);

  it('times out without an answer and tells the peer, whose handler sees the abort', async () => {
    let aborted: Promise<unknown> | undefined;
    const { a } = await bound({ bHandler: (req) => { aborted = new Promise((r) => req.signal.addEventListener('abort', () => r(req.signal.reason))); return new Promise(() => {}); } });
    await expect(a.request({ type: 'slow' }, { timeoutMs: 30 })).rejects.toBeInstanceOf(RequestTimeoutError);
    await expect(aborted).resolves.toBeInstanceOf(RequestCancelledError);
    a.close();
  });

  it('cancels with an AbortSignal, and cancels a response body the reader abandons', async () => {
    const blob = randomBytes(12 * 1024 * 1024);
    let sawAbort = false;
    const { a } = await bound({
      bHandler: (req) => {
        if (req.message.type === 'hang') return new Promise((_, reject) => req.signal.addEventListener('abort', () => { sawAbort = true; reject(new Error('x')); }));
        return { message: { type: 'big' }, body: blob };
      },
    });
    const ctl = new AbortController();
    const p = a.request({ type: 'hang' }, { signal: ctl.signal });
    ctl.abort();
    await expect(p).rejects.toBeInstanceOf(RequestCancelledError);
    await expect.poll(() => sawAbort).toBe(true);
    const res = await a.request({ type: 'get' });
    for await (const _chunk of res.body!) break; // abandon after the first chunk
    // The link still works after the cancellation.
    expect((await a.request({ type: 'get' })).message).toEqual({ type: 'big' });
    a.close();
  });

  it('returns the handler\'s refusal code, and hides other handler errors as internal', async () => {
    const { a } = await bound({
      bHandler: (req) => {
        if (req.message.type === 'put') throw new RequestRefusedError('quota-exceeded', 'over quota by 3 bytes');
        throw new Error('secret internals');
      },
    });
    await expect(a.request({ type: 'put' })).rejects.toMatchObject({ remoteCode: 'quota-exceeded', message: 'over quota by 3 bytes' });
    const err = await a.request({ type: 'boom' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect(err).toMatchObject({ remoteCode: 'internal' });
    expect(String((err as Error).message)).not.toContain('secret');
    a.close();
  });

  it('answers requests beyond the concurrency limit with busy', async () => {
    const { a } = await bound({ bHandler: () => new Promise(() => {}) });
    const ps = Array.from({ length: MAX_INCOMING_REQUESTS + 1 }, (_, i) => a.request({ type: `r${i}` }, { timeoutMs: 5_000 }).catch((e: unknown) => e));
    const last = await ps[MAX_INCOMING_REQUESTS];
    expect(last).toMatchObject({ remoteCode: 'busy' });
    a.close();
    for (const p of ps.slice(0, -1)) expect(await p).toBeInstanceOf(LinkClosedError);
  });

  it('fails pending requests when the link closes, locally or by network loss', async () => {
    const { a, b, ta } = await bound({ bHandler: () => new Promise(() => {}) });
    const pending = a.request({ type: 'x' });
    ta.kill();
    await expect(pending).rejects.toMatchObject({ code: 'link-closed', reason: 'transport' });
    expect((await a.closed).reason).toBe('transport');
    expect((await b.closed).reason).toBe('transport');
    await expect(a.request({ type: 'y' })).rejects.toBeInstanceOf(LinkClosedError);
  });

  it('reports a remote close as remote', async () => {
    const { a, b } = await bound();
    b.close('removed', 'partner removed');
    expect(await a.closed).toEqual({ reason: 'remote', remoteCode: 'removed' });
    expect((await b.closed).reason).toBe('local');
  });
});

describe('hostile frames after binding', () => {
  async function withRaw(handler: RequestHandler = echo) {
    const ia = newIdentity();
    const ib = newIdentity();
    const [ta, tb] = memoryTransportPair();
    const [link, raw] = await Promise.all([
      PeerLink.open({ transport: ta, identity: ia, initiator: true, expect: { mode: 'pinned', publicKey: ib.publicKey }, handler }),
      rawPeer(tb, ib, ia.publicKey),
    ]);
    return { link, raw };
  }

  it('answers a request with a bad header with bad-request and carries on', async () => {
    const { link, raw } = await withRaw();
    raw.send(Uint8Array.from([1, 3, 0, 0, 0, 2, 0, ...new TextEncoder().encode('{"type":')]));
    expect(await raw.next('error')).toMatchObject({ kind: 'error', id: 2, code: 'bad-request' });
    raw.send(Uint8Array.from([1, 3, 0, 0, 0, 4, 0, ...new TextEncoder().encode('{"type":"x","__proto__":{}}')]));
    expect(await raw.next('error')).toMatchObject({ id: 4, code: 'bad-request' });
    raw.send(encodeFrame({ kind: 'request', id: 6, message: { type: 'fine' }, hasBody: false }));
    expect(await raw.next('response')).toMatchObject({ id: 6, message: { type: 'echo', got: 'fine' } });
    expect(link.isOpen).toBe(true);
    // Frames for streams that do not exist are dropped and counted.
    raw.send(encodeFrame({ kind: 'data', id: 8, bytes: new Uint8Array(3) }));
    raw.send(encodeFrame({ kind: 'credit', id: 1, bytes: 5 }));
    raw.send(encodeFrame({ kind: 'request', id: 10, message: { type: 'sync' }, hasBody: false }));
    await raw.next('response');
    expect(link.stats.staleFrames).toBe(2);
    link.close();
  });

  it.each([
    ['an unknown frame kind', Uint8Array.from([1, 77, 0, 0, 0, 2]), 'malformed-frame'],
    ['another version', Uint8Array.from([9, 3, 0, 0, 0, 2, 0]), 'unsupported-version'],
    ['an oversized frame', new Uint8Array(MAX_FRAME_BYTES + 1).fill(1), 'oversized-frame'],
    ['a second hello', encodeFrame({ kind: 'hello', mode: 'pinned', nonce: new Uint8Array(32), publicKey: new Uint8Array(32) }), 'unexpected-frame'],
    ['a request on our stream ids', encodeFrame({ kind: 'request', id: 3, message: { type: 'x' }, hasBody: false }), 'unexpected-frame'],
  ])('closes cleanly on %s, failing pending requests', async (_name, bytes, code) => {
    const { link, raw } = await withRaw();
    const pending = link.request({ type: 'waiting' });
    await raw.next('request');
    raw.send(bytes);
    const closed = await link.closed;
    expect(closed.reason).toBe('protocol');
    expect(closed.error?.code).toBe(code);
    await expect(pending).rejects.toBeInstanceOf(LinkClosedError);
    // The peer was told why.
    expect(await raw.next('close')).toMatchObject({ code });
  });

  it('closes when the peer sends more body than its window', async () => {
    const { link, raw } = await withRaw(() => new Promise(() => {}));
    raw.send(encodeFrame({ kind: 'request', id: 2, message: { type: 'put' }, hasBody: true }));
    const chunk = new Uint8Array(60_000);
    for (let sent = 0; sent <= STREAM_WINDOW_BYTES; sent += chunk.length) raw.send(encodeFrame({ kind: 'data', id: 2, bytes: chunk }));
    const closed = await link.closed;
    expect(closed).toMatchObject({ reason: 'protocol', error: { code: 'flow-control' } });
  });
});
