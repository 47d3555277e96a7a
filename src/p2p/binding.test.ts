import { describe, expect, it } from 'vitest';
import { bindingTranscript, checkBinding, fingerprintFromSdp, proveBinding, type BindingParty } from './binding.ts';
import { BindingError } from './errors.ts';
import { identityFromSeed } from './identity.ts';
import { testFingerprint } from './testing/memory-transport.ts';

// Trimmed from a real Chromium 156 offer.
const CHROMIUM_SDP = [
  'v=0',
  'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0',
  'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
  'c=IN IP4 0.0.0.0',
  'a=ice-ufrag:8hhY',
  'a=ice-pwd:asd88fgpdd777uzjYhagZg',
  'a=fingerprint:sha-256 D1:2C:BE:AD:C4:F6:64:5C:25:16:11:9C:AF:E7:0F:73:79:36:4E:9C:1E:15:54:39:0C:06:8B:A0:86:0C:7E:06',
  'a=setup:actpass',
  'a=mid:0',
  'a=sctp-port:5000',
  'a=max-message-size:262144',
  '',
].join('\r\n');

const party = (n: number): BindingParty => ({ fingerprint: testFingerprint(n), nonce: new Uint8Array(32).fill(n + 1), publicKey: identityFromSeed(new Uint8Array(32).fill(n)).publicKey });

describe('fingerprints from SDP', () => {
  it('reads the certificate digest Chromium writes', () => {
    const fp = fingerprintFromSdp(CHROMIUM_SDP);
    expect(fp.algorithm).toBe('sha-256');
    expect(Buffer.from(fp.digest).toString('hex')).toBe('d12cbeadc4f6645c2516119cafe70f7379364e9c1e1554390c068ba0860c7e06');
  });

  it('accepts repeated identical lines and refuses none, garbage, or two certificates', () => {
    const line = CHROMIUM_SDP.split('\r\n').find((l) => l.startsWith('a=fingerprint'))!;
    expect(() => fingerprintFromSdp(`${CHROMIUM_SDP}${line}\r\n`)).not.toThrow();
    expect(() => fingerprintFromSdp(CHROMIUM_SDP.replace(/a=fingerprint.*\r\n/, ''))).toThrow(BindingError);
    expect(() => fingerprintFromSdp(`${CHROMIUM_SDP}${line.replace('D1:', 'D2:')}\r\n`)).toThrow(/two different certificates/);
    expect(() => fingerprintFromSdp(CHROMIUM_SDP.replace('sha-256 D1:', 'sha-256 ZZ:'))).toThrow(BindingError);
    expect(() => fingerprintFromSdp('a=fingerprint:sha-256 AB:CD\r\n')).toThrow(/unexpected length/);
  });
});

describe('binding transcript', () => {
  it('has the documented layout (golden)', () => {
    const t = bindingTranscript('pinned', party(1), party(2));
    const label = new TextEncoder().encode('backpact/v1/link-binding');
    expect(t.subarray(0, 24)).toEqual(label);
    expect([...t.subarray(24, 26)]).toEqual([0, 0]);
    // own fingerprint: u8 7 "sha-256" u8 32 digest
    expect(t[26]).toBe(7);
    expect(new TextDecoder().decode(t.subarray(27, 34))).toBe('sha-256');
    expect(t[34]).toBe(32);
    expect(t.subarray(35, 67)).toEqual(new Uint8Array(32).fill(1));
    expect(t.subarray(67 + 9, 67 + 41)).toEqual(new Uint8Array(32).fill(2));
    const rest = t.subarray(67 + 41);
    expect(rest.length).toBe(128);
    expect(rest.subarray(0, 32)).toEqual(new Uint8Array(32).fill(2)); // own nonce
    expect(rest.subarray(32, 64)).toEqual(new Uint8Array(32).fill(3)); // peer nonce
    expect(rest.subarray(64, 96)).toEqual(party(1).publicKey);
    expect(rest.subarray(96)).toEqual(party(2).publicKey);
    expect(bindingTranscript('invite', party(1), party(2))[25]).toBe(1);
  });

  it('verifies when both sides saw the same fingerprints, and fails under a man in the middle', async () => {
    const alice = identityFromSeed(new Uint8Array(32).fill(7));
    const a: BindingParty = { fingerprint: testFingerprint(0xaa), nonce: new Uint8Array(32).fill(1), publicKey: alice.publicKey };
    const b: BindingParty = { ...party(2), fingerprint: testFingerprint(0xbb) };
    const proof = await proveBinding(alice, bindingTranscript('pinned', a, b), null);
    // Bob rebuilds Alice's transcript from his view: her fingerprint is his remote one.
    await expect(checkBinding(alice.publicKey, bindingTranscript('pinned', a, b), proof, null)).resolves.toBeUndefined();
    // Under a MITM, Bob's remote fingerprint is the attacker's certificate, not Alice's.
    const bobSeesMitm = { ...a, fingerprint: testFingerprint(0xee) };
    await expect(checkBinding(alice.publicKey, bindingTranscript('pinned', bobSeesMitm, b), proof, null)).rejects.toMatchObject({ reason: 'bad-signature' });
    // A swapped nonce (replayed proof from another session) fails too.
    await expect(checkBinding(alice.publicKey, bindingTranscript('pinned', { ...a, nonce: new Uint8Array(32) }, b), proof, null)).rejects.toMatchObject({ reason: 'bad-signature' });
  });

  it('in invite mode requires the MAC keyed by the invite secret', async () => {
    const guest = identityFromSeed(new Uint8Array(32).fill(9));
    const g: BindingParty = { ...party(3), publicKey: guest.publicKey };
    const i = party(4);
    const secret = new Uint8Array(32).fill(0x55);
    const t = bindingTranscript('invite', g, i);
    const proof = await proveBinding(guest, t, secret);
    expect(proof.mac).toHaveLength(32);
    await expect(checkBinding(guest.publicKey, t, proof, secret)).resolves.toBeUndefined();
    await expect(checkBinding(guest.publicKey, t, proof, new Uint8Array(32).fill(0x56))).rejects.toMatchObject({ reason: 'bad-mac' });
    await expect(checkBinding(guest.publicKey, t, { ...proof, mac: null }, secret)).rejects.toMatchObject({ reason: 'bad-mac' });
    await expect(checkBinding(guest.publicKey, t, proof, null)).rejects.toMatchObject({ reason: 'mode-mismatch' });
  });
});
