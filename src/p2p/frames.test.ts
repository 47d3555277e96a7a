import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_DATA_BYTES, MAX_FRAME_BYTES } from './constants.ts';
import { MalformedFrameError, OversizedFrameError, P2pError, UnsupportedVersionError } from './errors.ts';
import { decodeFrame, encodeDataFrame, encodeFrame, FRAME_KINDS, isLinkMessage, peekStreamId, type Frame } from './frames.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const raw = (...bytes: number[]): Uint8Array => Uint8Array.from(bytes);

const samples: Frame[] = [
  { kind: 'hello', mode: 'pinned', nonce: new Uint8Array(32).fill(1), publicKey: new Uint8Array(32).fill(2) },
  { kind: 'hello', mode: 'invite', nonce: new Uint8Array(32).fill(3), publicKey: new Uint8Array(32).fill(4) },
  { kind: 'auth', signature: new Uint8Array(64).fill(5), mac: null },
  { kind: 'auth', signature: new Uint8Array(64).fill(5), mac: new Uint8Array(32).fill(6) },
  { kind: 'request', id: 1, message: { type: 'put-shard', size: 3, nested: { a: [1, 'x', null] } }, hasBody: true },
  { kind: 'response', id: 2, message: { type: 'ok' }, hasBody: false },
  { kind: 'error', id: 3, code: 'quota-exceeded', message: 'no room' },
  { kind: 'cancel', id: 4 },
  { kind: 'data', id: 0xffff_ffff, bytes: new Uint8Array([9, 8, 7]) },
  { kind: 'end', id: 5 },
  { kind: 'credit', id: 6, bytes: 1 << 20 },
  { kind: 'close', code: 'going-away', message: '' },
];

describe('frames', () => {
  it('round-trip every kind', () => {
    for (const f of samples) expect(decodeFrame(encodeFrame(f))).toEqual(f);
  });

  it('have the documented layout (golden bytes)', () => {
    expect(hex(encodeFrame({ kind: 'cancel', id: 0x01020304 }))).toBe('010601020304');
    expect(hex(encodeFrame({ kind: 'credit', id: 7, bytes: 0x00100000 }))).toBe('01090000000700100000');
    expect(hex(encodeFrame({ kind: 'data', id: 1, bytes: raw(0xde, 0xad) }))).toBe('010700000001dead');
    // version 1, kind 3, id 3, flags 1 (body follows), then the JSON message
    expect(hex(encodeFrame({ kind: 'request', id: 3, message: { type: 'x' }, hasBody: true }))).toBe(`01030000000301${hex(new TextEncoder().encode('{"type":"x"}'))}`);
    const hello = encodeFrame(samples[0]!);
    expect(hello.length).toBe(6 + 65);
    expect(hex(hello.subarray(0, 7))).toBe('01010000000000');
  });

  it('slice data frames from a larger buffer', () => {
    const src = Uint8Array.from({ length: 100 }, (_, i) => i);
    const f = decodeFrame(encodeDataFrame(9, src, 10, 5));
    expect(f).toEqual({ kind: 'data', id: 9, bytes: raw(10, 11, 12, 13, 14) });
  });

  it('refuse to encode a frame above 64 KiB', () => {
    expect(() => encodeFrame({ kind: 'data', id: 1, bytes: new Uint8Array(MAX_DATA_BYTES + 1) })).toThrow(OversizedFrameError);
    expect(encodeFrame({ kind: 'data', id: 1, bytes: new Uint8Array(MAX_DATA_BYTES) }).length).toBe(MAX_FRAME_BYTES);
    expect(() => encodeFrame({ kind: 'request', id: 1, message: { type: 'x', s: 'y'.repeat(MAX_FRAME_BYTES) }, hasBody: false })).toThrow(OversizedFrameError);
  });

  it('reject malformed, oversized and foreign-version frames with typed errors', () => {
    const cases: [Uint8Array, new (...a: never[]) => P2pError][] = [
      [new Uint8Array(MAX_FRAME_BYTES + 1), OversizedFrameError],
      [raw(), MalformedFrameError],
      [raw(1, 7, 0, 0, 0), MalformedFrameError], // header cut short
      [raw(2, 7, 0, 0, 0, 1, 1), UnsupportedVersionError],
      [raw(1, 99, 0, 0, 0, 1), MalformedFrameError], // unknown kind
      [raw(1, 7, 0, 0, 0, 1), MalformedFrameError], // empty data
      [raw(1, 7, 0, 0, 0, 0, 1), MalformedFrameError], // stream frame with id 0
      [raw(1, 1, 0, 0, 0, 1, ...new Uint8Array(65)), MalformedFrameError], // hello with a stream id
      [raw(1, 1, 0, 0, 0, 0, 2, ...new Uint8Array(64)), MalformedFrameError], // unknown binding mode
      [raw(1, 2, 0, 0, 0, 0, ...new Uint8Array(65)), MalformedFrameError], // auth of odd length
      [raw(1, 9, 0, 0, 0, 1, 0, 0, 0, 0), MalformedFrameError], // zero credit
      [raw(1, 9, 0, 0, 0, 1, 0, 0, 1), MalformedFrameError], // short credit
      [raw(1, 6, 0, 0, 0, 1, 0), MalformedFrameError], // cancel with a body
      [raw(1, 3, 0, 0, 0, 1), MalformedFrameError], // request without flags
      [raw(1, 3, 0, 0, 0, 1, 2, ...new TextEncoder().encode('{"type":"x"}')), MalformedFrameError], // unknown flag
      [raw(1, 3, 0, 0, 0, 1, 0, 0xc3, 0x28), MalformedFrameError], // invalid UTF-8
      [raw(1, 3, 0, 0, 0, 1, 0, ...new TextEncoder().encode('{"type":')), MalformedFrameError], // bad JSON
      [raw(1, 5, 0, 0, 0, 1, ...new TextEncoder().encode('{"code":"","message":""}')), MalformedFrameError],
      [raw(1, 5, 0, 0, 0, 1, ...new TextEncoder().encode('{"code":"x","message":"","extra":1}')), MalformedFrameError],
    ];
    for (const [bytes, type] of cases) expect(() => decodeFrame(bytes), hex(bytes.subarray(0, 12))).toThrow(type);
  });

  it('refuse messages without a string type or with prototype keys', () => {
    for (const m of [{}, { type: 1 }, { type: '' }, { type: 'x'.repeat(65) }, [], 'x', null]) expect(isLinkMessage(m)).toBe(false);
    expect(isLinkMessage(JSON.parse('{"type":"x","__proto__":{"admin":true}}'))).toBe(false);
    expect(isLinkMessage({ type: 'x', deep: [{ constructor: 1 }] })).toBe(false);
    expect(isLinkMessage({ type: 'x', fine: [{ a: 1 }] })).toBe(true);
    const bad = new TextEncoder().encode('{"type":"x","a":{"__proto__":{"polluted":1}}}');
    expect(() => decodeFrame(raw(1, 3, 0, 0, 0, 1, 0, ...bad))).toThrow(MalformedFrameError);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('peek a stream id only from an intact header', () => {
    expect(peekStreamId(raw(1, 3, 0, 0, 1, 0, 0))).toBe(256);
    expect(peekStreamId(raw(1, 3, 0))).toBeNull();
    expect(peekStreamId(raw(9, 3, 0, 0, 1, 0))).toBeNull();
  });

  it('never throw anything but a P2pError on arbitrary input (property)', () => {
    const kinds = Object.values(FRAME_KINDS);
    const framed = fc.tuple(fc.constantFrom(1, 1, 1, 0, 2), fc.constantFrom(...kinds, 0, 11, 255), fc.integer({ min: 0, max: 0xffff_ffff }), fc.uint8Array({ maxLength: 200 }))
      .map(([v, k, id, body]) => {
        const out = new Uint8Array(6 + body.length);
        out[0] = v;
        out[1] = k;
        new DataView(out.buffer).setUint32(2, id);
        out.set(body, 6);
        return out;
      });
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), framed), (bytes) => {
      try {
        decodeFrame(bytes);
      } catch (err) {
        expect(err).toBeInstanceOf(P2pError);
      }
    }), { numRuns: 20_000 });
  });
});
