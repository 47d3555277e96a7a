import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MalformedError } from '../errors.ts';
import { MAX_ROOT_RECORD_BYTES, MAX_SHARD_BYTES, parseHealthReply, parseHolderReply, parseOfferReply, parsePartnerRequest } from './messages.ts';

const shard = 'ab'.repeat(32);

describe('partner messages', () => {
  it('parses every request type', () => {
    expect(parsePartnerRequest({ type: 'shard.put', shard, size: 10 })).toEqual({ type: 'shard.put', shard, size: 10 });
    expect(parsePartnerRequest({ type: 'shard.get', shard })).toEqual({ type: 'shard.get', shard });
    expect(parsePartnerRequest({ type: 'shard.delete', shards: [shard] })).toEqual({ type: 'shard.delete', shards: [shard] });
    expect(parsePartnerRequest({ type: 'root.get' })).toEqual({ type: 'root.get' });
    expect(parsePartnerRequest({ type: 'partner.hello', name: 'Bo' })).toEqual({ type: 'partner.hello', name: 'Bo' });
    const nonce = 'A'.repeat(22);
    expect(parsePartnerRequest({ type: 'audit.challenge', nonce, items: [{ shard, leaves: [1, 5] }] })).toEqual({ type: 'audit.challenge', nonce, items: [{ shard, leaves: [1, 5] }] });
  });

  it('refuses bad ids, sizes, names and unknown types', () => {
    for (const bad of [
      { type: 'shard.put', shard: 'xyz', size: 1 },
      { type: 'shard.put', shard, size: MAX_SHARD_BYTES + 1 },
      { type: 'shard.put', shard, size: -1 },
      { type: 'shard.get', shard: shard.toUpperCase() },
      { type: 'shard.delete', shards: Array(1025).fill(shard) },
      { type: 'partner.hello', name: '' },
      { type: 'root.put', record: 'not base64!' },
      { type: 'nope' },
      { type: 'audit.challenge', nonce: 'short', items: [{ shard, leaves: [1] }] },
      { type: 'audit.challenge', nonce: 'A'.repeat(22), items: [{ shard, leaves: Array(65).fill(1) }] },
      { type: 'audit.challenge', nonce: 'A'.repeat(22), items: [{ shard, leaves: [-1] }] },
      { type: 'audit.challenge', nonce: 'A'.repeat(22), items: [] },
      null, [], 'shard.get',
    ]) {
      expect(() => parsePartnerRequest(bad), JSON.stringify(bad)).toThrow(MalformedError);
    }
  });

  it('parses offer replies and refuses malformed ones', () => {
    expect(parseOfferReply({ type: 'agreement.reply', decision: 'accept', sig: 'a'.repeat(128) }).decision).toBe('accept');
    expect(parseOfferReply({ type: 'agreement.reply', decision: 'decline', reason: 'no' })).toEqual({ type: 'agreement.reply', decision: 'decline', reason: 'no' });
    expect(() => parseOfferReply({ type: 'agreement.reply', decision: 'accept', sig: 'zz' })).toThrow(MalformedError);
    expect(() => parseOfferReply({ type: 'agreement.reply', decision: 'maybe' })).toThrow(MalformedError);
  });

  it('never throws anything but MalformedError on arbitrary input', () => {
    fc.assert(fc.property(fc.anything(), (x) => {
      try {
        parsePartnerRequest(x);
      } catch (err) {
        expect(err).toBeInstanceOf(MalformedError);
      }
    }), { numRuns: 2000 });
  });

  it('parses the holder replies a backup reads, strictly and by the type expected', () => {
    expect(parseHolderReply('shard.stored', { type: 'shard.stored', shard })).toEqual({ type: 'shard.stored', shard });
    expect(parseHolderReply('shard.data', { type: 'shard.data', size: 5 })).toEqual({ type: 'shard.data', size: 5 });
    expect(parseHolderReply('root.stored', { type: 'root.stored', seq: 3 })).toEqual({ type: 'root.stored', seq: 3 });
    expect(parseHolderReply('root.record', { type: 'root.record', record: null })).toEqual({ type: 'root.record', record: null });
    expect(parseHolderReply('root.record', { type: 'root.record', record: 'AQID' })).toEqual({ type: 'root.record', record: 'AQID' });
    expect(parseHolderReply('shard.listing', { type: 'shard.listing', shards: [[shard, 4]], used: 4, allowed: 10 })).toMatchObject({ type: 'shard.listing', used: 4, allowed: 10 });
    expect(parseHolderReply('shard.listing', { type: 'shard.listing', shards: [], used: 0, allowed: null })).toMatchObject({ type: 'shard.listing', used: 0, allowed: null });
    expect(parseHolderReply('shard.deleted', { type: 'shard.deleted', count: 2 })).toEqual({ type: 'shard.deleted', count: 2 });
    for (const [expected, bad] of [
      ['shard.listing', { type: 'shard.listing', used: -1, allowed: 10 }],
      ['shard.listing', { type: 'shard.listing', used: 1, allowed: '10' }],
      ['shard.deleted', { type: 'shard.deleted', count: 1025 }],
      ['shard.stored', { type: 'shard.data', size: 1 }],
      ['shard.stored', { type: 'shard.stored', shard: 'nope' }],
      ['shard.data', { type: 'shard.data', size: MAX_SHARD_BYTES + 1 }],
      ['root.stored', { type: 'root.stored', seq: -1 }],
      ['root.record', { type: 'root.record', record: 'not base64!' }],
      ['root.record', { type: 'root.record', record: 'A'.repeat(MAX_ROOT_RECORD_BYTES * 2) }],
      ['root.record', { type: 'root.record' }],
      ['root.record', null],
    ] as const) {
      expect(() => parseHolderReply(expected, bad), JSON.stringify(bad).slice(0, 80)).toThrow(MalformedError);
    }
  });

  it('pages shard listings with dates, and reads delete counts (retention and orphan collection)', () => {
    expect(parsePartnerRequest({ type: 'shard.list' })).toEqual({ type: 'shard.list' });
    expect(parsePartnerRequest({ type: 'shard.list', after: shard })).toEqual({ type: 'shard.list', after: shard });
    expect(() => parsePartnerRequest({ type: 'shard.list', after: 'x' })).toThrow(MalformedError);
    expect(parseHolderReply('shard.deleted', { type: 'shard.deleted', count: 2 })).toEqual({ type: 'shard.deleted', count: 2 });
    expect(parseHolderReply('shard.listing', { type: 'shard.listing', shards: [[shard, 5, 1000]], used: 5, allowed: 10, more: true }))
      .toEqual({ type: 'shard.listing', shards: [{ shard, size: 5, storedAt: 1000 }], used: 5, allowed: 10, more: true });
    // A holder that predates dates and pages: no storedAt, no more.
    expect(parseHolderReply('shard.listing', { type: 'shard.listing', shards: [[shard, 5]], used: 5, allowed: null }))
      .toEqual({ type: 'shard.listing', shards: [{ shard, size: 5 }], used: 5, allowed: null, more: false });
    for (const bad of [
      { type: 'shard.listing', shards: [[shard]], used: 0, allowed: 0 },
      { type: 'shard.listing', shards: [['nope', 1, 1]], used: 0, allowed: 0 },
      { type: 'shard.listing', shards: [[shard, 1, -5]], used: 0, allowed: 0 },
      { type: 'shard.listing', shards: {}, used: 0, allowed: 0 },
      { type: 'shard.listing', shards: [], used: -1, allowed: 0 },
    ]) {
      expect(() => parseHolderReply('shard.listing', bad), JSON.stringify(bad).slice(0, 80)).toThrow(MalformedError);
    }
    expect(() => parseHolderReply('shard.deleted', { type: 'shard.deleted', count: -1 })).toThrow(MalformedError);
  });

  it('never throws anything but MalformedError on arbitrary holder replies', () => {
    fc.assert(fc.property(fc.constantFrom('shard.stored', 'shard.data', 'root.stored', 'root.record', 'shard.deleted', 'shard.listing'), fc.anything(), (t, x) => {
      try {
        parseHolderReply(t, x);
      } catch (err) {
        expect(err).toBeInstanceOf(MalformedError);
      }
    }), { numRuns: 1000 });
  });
});

describe('health messages (warnings and damage reports)', () => {
  const sig = 'ab'.repeat(64);

  it('shard.put may carry the shard\'s Merkle root', () => {
    expect(parsePartnerRequest({ type: 'shard.put', shard, size: 10, root: 'cd'.repeat(32) })).toEqual({ type: 'shard.put', shard, size: 10, root: 'cd'.repeat(32) });
    expect(() => parsePartnerRequest({ type: 'shard.put', shard, size: 10, root: 'cd' })).toThrow(MalformedError);
    expect(() => parsePartnerRequest({ type: 'shard.put', shard, size: 10, root: null })).toThrow(MalformedError);
  });

  it('parses health.warning of every level and refuses inconsistent ones', () => {
    const w = { type: 'health.warning', level: 'unreachable', since: 1000, dropAt: 2000, at: 1500, sig };
    expect(parsePartnerRequest(w)).toEqual(w);
    expect(parsePartnerRequest({ ...w, level: 'failing' })).toEqual({ ...w, level: 'failing' });
    expect(parsePartnerRequest({ ...w, level: 'dropped', dropAt: null })).toEqual({ ...w, level: 'dropped', dropAt: null });
    expect(parsePartnerRequest({ ...w, level: 'ok', since: null, dropAt: null })).toEqual({ ...w, level: 'ok', since: null, dropAt: null });
    for (const bad of [
      { ...w, level: 'grumpy' },
      { ...w, level: 'ok' },
      { ...w, since: null },
      { ...w, level: 'dropped' },
      { ...w, at: -1 },
      { ...w, at: 1.5 },
      { ...w, since: '1000' },
      { ...w, sig: 'ab' },
      { ...w, sig: undefined },
    ]) expect(() => parsePartnerRequest(bad), JSON.stringify(bad)).toThrow(MalformedError);
  });

  it('parses holder.damage, keeping each id once, and refuses bad lists', () => {
    const other = 'cd'.repeat(32);
    expect(parsePartnerRequest({ type: 'holder.damage', shards: [shard, other, shard], at: 5 })).toEqual({ type: 'holder.damage', shards: [shard, other], at: 5 });
    for (const bad of [
      { type: 'holder.damage', shards: [], at: 5 },
      { type: 'holder.damage', shards: ['xyz'], at: 5 },
      { type: 'holder.damage', shards: Array(1025).fill(shard), at: 5 },
      { type: 'holder.damage', shards: shard, at: 5 },
      { type: 'holder.damage', shards: [shard] },
    ]) expect(() => parsePartnerRequest(bad), JSON.stringify(bad)).toThrow(MalformedError);
  });

  it('parses the answers and refuses the wrong one', () => {
    expect(parseHealthReply('health.noted', { type: 'health.noted' })).toEqual({ type: 'health.noted' });
    expect(parseHealthReply('holder.damage-noted', { type: 'holder.damage-noted', count: 2 })).toEqual({ type: 'holder.damage-noted', count: 2 });
    expect(() => parseHealthReply('holder.damage-noted', { type: 'health.noted' })).toThrow(MalformedError);
    expect(() => parseHealthReply('holder.damage-noted', { type: 'holder.damage-noted', count: -1 })).toThrow(MalformedError);
    expect(() => parseHealthReply('health.noted', null)).toThrow(MalformedError);
  });
});
