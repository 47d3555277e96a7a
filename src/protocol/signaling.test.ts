import { ed25519 } from '@noble/curves/ed25519.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { authTranscript, AuthTranscriptError } from './auth.ts';
import { toBase64Url } from './encoding.ts';
import { isAcceptablePublicKey } from './keys.ts';
import { decodeClientMessage, decodeServerMessage, SIGNALING_LIMITS, type ClientMessage, type DeviceId, type ServerMessage } from './signaling.ts';

const id = toBase64Url(new Uint8Array(32).fill(1));
const device = toBase64Url(new Uint8Array(16).fill(2));
const box = toBase64Url(new Uint8Array(32).fill(3));
const sig = toBase64Url(new Uint8Array(64).fill(4));
const nonce = toBase64Url(new Uint8Array(32).fill(5));

const validClient: ClientMessage[] = [
  { type: 'auth', v: 1, id, device, sig, rid: 0 } as ClientMessage,
  { type: 'subscribe', ids: [id, id] } as ClientMessage,
  { type: 'unsubscribe', ids: [], rid: 0xffff_ffff } as ClientMessage,
  { type: 'subscribers' },
  { type: 'signal', to: { id, device }, data: '{"sdp":"v=0"}' } as ClientMessage,
  { type: 'relay', to: id, device, data: 'AAAA' } as ClientMessage,
  { type: 'relay', to: id, data: '' } as ClientMessage,
  { type: 'mailboxOpen', box, ttlS: 3600 } as ClientMessage,
  { type: 'mailboxPost', box, data: 'AQID' } as ClientMessage,
  { type: 'mailboxClose', box, rid: 7 } as ClientMessage,
  { type: 'poolList', offeredBytes: 5e9, balanceBytes: -1e9, name: 'Ann' },
  { type: 'poolList', offeredBytes: 0, balanceBytes: 0, name: 'x'.repeat(64), rid: 1 },
  { type: 'poolUnlist' },
  { type: 'poolQuery', rid: 2 },
  { type: 'poolHello', to: id, data: 'AAAA' } as ClientMessage,
];

const validServer: ServerMessage[] = [
  { type: 'challenge', v: 1, versions: [1], nonce },
  { type: 'welcome', v: 1, id, device, iceServers: [{ urls: ['stun:x'] }, { urls: ['turn:y'], username: 'u', credential: 'c' }], limits: { relayBytes: 1, mailboxBytes: 2, mailboxTtlS: 3, messagesPerS: 4, relaysPerS: 5, maxSubscriptions: 6 }, rid: 1 } as ServerMessage,
  { type: 'ack', rid: 3 },
  { type: 'error', code: 'unreachable', message: 'm', rid: 2 },
  { type: 'presence', peer: { id, device }, online: true } as ServerMessage,
  { type: 'subscribers', peers: [{ id, device }] } as ServerMessage,
  { type: 'signal', from: { id, device }, data: 'x' } as ServerMessage,
  { type: 'relay', from: { id, device }, data: 'AAAA' } as ServerMessage,
  { type: 'mailboxOpened', box, expiresAt: 123 } as ServerMessage,
  { type: 'mailbox', box, from: { id, device }, data: '' } as ServerMessage,
  { type: 'pool', peers: [{ id, name: 'Ann', offeredBytes: 5e9, balanceBytes: -1, uptime7d: 0.75, networkToken: 'AbCd-_12' }], partners: [{ id, networkToken: 'AbCd-_12' }], rid: 4 } as ServerMessage,
  { type: 'pool', peers: [], partners: [] },
  { type: 'poolHello', from: { id, device }, data: 'AQID' } as ServerMessage,
];

describe('signaling decoders', () => {
  it('accept every valid client message and return an equal, freshly built object', () => {
    for (const m of validClient) {
      const r = decodeClientMessage(JSON.stringify(m));
      expect(r).toEqual({ ok: true, value: m });
    }
  });

  it('accept every valid server message', () => {
    for (const m of validServer) expect(decodeServerMessage(JSON.stringify(m))).toEqual({ ok: true, value: m });
  });

  it('classify failures and echo a readable rid', () => {
    expect(decodeClientMessage('{')).toMatchObject({ ok: false, code: 'bad-json' });
    expect(decodeClientMessage('null')).toMatchObject({ ok: false, code: 'bad-message' });
    expect(decodeClientMessage('"subscribe"')).toMatchObject({ ok: false, code: 'bad-message' });
    expect(decodeClientMessage('{"type":"nope","rid":4}')).toEqual({ ok: false, code: 'unknown-type', message: 'unknown message type', rid: 4 });
    expect(decodeClientMessage('{"type":"subscribe","ids":[1],"rid":5}')).toMatchObject({ ok: false, code: 'bad-message', rid: 5 });
    expect(decodeClientMessage('{"type":"subscribe","ids":[],"rid":-1}')).toMatchObject({ ok: false, code: 'bad-message' });
  });

  it('refuse unknown keys, prototype keys included', () => {
    for (const extra of ['__proto__', 'constructor', 'prototype', 'x']) {
      const text = `{"type":"subscribers","${extra}":{"polluted":true}}`;
      expect(decodeClientMessage(text)).toMatchObject({ ok: false, code: 'bad-message' });
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(decodeClientMessage(`{"type":"signal","to":{"id":"${id}","device":"${device}","__proto__":1},"data":""}`)).toMatchObject({ ok: false });
  });

  it('enforce the size limits', () => {
    const many = Array.from({ length: SIGNALING_LIMITS.idsPerMessage + 1 }, () => id);
    expect(decodeClientMessage(JSON.stringify({ type: 'subscribe', ids: many }))).toMatchObject({ ok: false, code: 'bad-message' });
    const max = toBase64Url(new Uint8Array(SIGNALING_LIMITS.relayBytes));
    expect(decodeClientMessage(JSON.stringify({ type: 'relay', to: id, data: max })).ok).toBe(true);
    expect(decodeClientMessage(JSON.stringify({ type: 'relay', to: id, data: `${max}AA` })).ok).toBe(false);
    expect(decodeClientMessage(JSON.stringify({ type: 'signal', to: { id, device }, data: 'x'.repeat(SIGNALING_LIMITS.signalChars + 1) })).ok).toBe(false);
  });

  it('check open-pool messages field by field', () => {
    const ok = (m: object): boolean => decodeClientMessage(JSON.stringify(m)).ok;
    const listing = { type: 'poolList', offeredBytes: 1e9, balanceBytes: 0, name: 'Ann' };
    expect(ok(listing)).toBe(true);
    expect(ok({ ...listing, offeredBytes: -1 })).toBe(false);
    expect(ok({ ...listing, offeredBytes: SIGNALING_LIMITS.poolMaxBytes + 1 })).toBe(false);
    expect(ok({ ...listing, balanceBytes: -SIGNALING_LIMITS.poolMaxBytes })).toBe(true);
    expect(ok({ ...listing, balanceBytes: 0.5 })).toBe(false);
    expect(ok({ ...listing, name: '' })).toBe(false);
    expect(ok({ ...listing, name: 'a\u0007b' })).toBe(false);
    expect(ok({ ...listing, name: 'x'.repeat(65) })).toBe(false);
    expect(ok({ type: 'poolQuery', peers: [] })).toBe(false);
    const max = toBase64Url(new Uint8Array(SIGNALING_LIMITS.poolHelloBytes));
    expect(ok({ type: 'poolHello', to: id, data: max })).toBe(true);
    expect(ok({ type: 'poolHello', to: id, data: `${max}AA` })).toBe(false);
    expect(ok({ type: 'poolHello', to: { id, device }, data: '' })).toBe(false);
    const peer = { id, name: 'Ann', offeredBytes: 1, balanceBytes: 0, uptime7d: 1, networkToken: 'AAAAAAAA' };
    const srv = (m: object): boolean => decodeServerMessage(JSON.stringify(m)).ok;
    expect(srv({ type: 'pool', peers: [peer], partners: [] })).toBe(true);
    expect(srv({ type: 'pool', peers: [{ ...peer, uptime7d: 1.01 }], partners: [] })).toBe(false);
    expect(srv({ type: 'pool', peers: [{ ...peer, uptime7d: -0.1 }], partners: [] })).toBe(false);
    expect(srv({ type: 'pool', peers: [{ ...peer, networkToken: '10.1.2.3' }], partners: [] })).toBe(false);
    expect(srv({ type: 'pool', peers: [{ ...peer, ip: '10.1.2.3' }], partners: [] })).toBe(false);
    expect(srv({ type: 'pool', peers: Array.from({ length: SIGNALING_LIMITS.poolPeersPerAnswer + 1 }, () => peer), partners: [] })).toBe(false);
    expect(srv({ type: 'pool', peers: [] })).toBe(false);
    expect(srv({ type: 'error', code: 'not-listed', message: 'm' })).toBe(true);
  });

  it('refuse ids that are not canonical base64url of 32 bytes', () => {
    for (const bad of [id.slice(1), `${id}A`, id.replace(/.$/, 'B'), `${id.slice(0, 42)}=`, 5, null]) {
      expect(decodeClientMessage(JSON.stringify({ type: 'subscribe', ids: [bad] })).ok).toBe(false);
    }
  });

  it('never throw, whatever the input (property)', () => {
    const jsonish = fc.oneof(
      fc.string(),
      fc.json(),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.record({ type: fc.constantFrom('auth', 'subscribe', 'signal', 'relay', 'mailboxOpen', 'presence', 'welcome', 'error', 'poolList', 'poolQuery', 'poolHello', 'pool'), rest: fc.dictionary(fc.constantFrom('__proto__', 'constructor', 'ids', 'to', 'from', 'data', 'rid', 'v', 'box', 'peer', 'peers', 'limits', 'iceServers', 'code', 'offeredBytes', 'balanceBytes', 'name', 'partners'), fc.jsonValue()) })
        .map(({ type, rest }) => JSON.stringify({ ...rest, type })),
    );
    fc.assert(fc.property(jsonish, (text) => {
      const c = decodeClientMessage(text);
      const s = decodeServerMessage(text);
      expect(typeof c.ok).toBe('boolean');
      expect(typeof s.ok).toBe('boolean');
    }), { numRuns: 5000 });
  });
});

describe('auth transcript', () => {
  it('has the documented byte layout (golden)', () => {
    const t = authTranscript('Example.ORG:8443', nonce, device as DeviceId);
    const label = 'backpact/v1/signaling-auth';
    expect(new TextDecoder().decode(t.subarray(0, label.length))).toBe(label);
    expect(t[label.length]).toBe(0);
    expect(t[label.length + 1]).toBe(0);
    expect(t[label.length + 2]).toBe('example.org:8443'.length);
    expect(new TextDecoder().decode(t.subarray(label.length + 3, label.length + 3 + 16))).toBe('example.org:8443');
    expect(t.subarray(label.length + 19, label.length + 51)).toEqual(new Uint8Array(32).fill(5));
    expect(t.subarray(label.length + 51)).toEqual(new Uint8Array(16).fill(2));
    expect(Buffer.from(t).toString('hex')).toBe(
      '6261636b706163742f76312f7369676e616c696e672d6175746800' + '0010' + Buffer.from('example.org:8443').toString('hex') + '05'.repeat(32) + '02'.repeat(16),
    );
  });

  it('refuses malformed inputs', () => {
    expect(() => authTranscript('', nonce, device as DeviceId)).toThrow(AuthTranscriptError);
    expect(() => authTranscript('h', 'AAAA', device as DeviceId)).toThrow(AuthTranscriptError);
    expect(() => authTranscript('h', nonce, 'AAAA' as DeviceId)).toThrow(AuthTranscriptError);
  });
});

describe('public key checks', () => {
  it('accept real keys and refuse small-order points and non-points', () => {
    expect(isAcceptablePublicKey(ed25519.getPublicKey(ed25519.utils.randomSecretKey()))).toBe(true);
    expect(isAcceptablePublicKey(ed25519.Point.ZERO.toBytes())).toBe(false);
    expect(isAcceptablePublicKey(new Uint8Array(32))).toBe(false); // y = 0: small order
    expect(isAcceptablePublicKey(new Uint8Array(31))).toBe(false);
    expect(isAcceptablePublicKey(new Uint8Array(32).fill(0xff))).toBe(false); // not on the curve
  });
});
