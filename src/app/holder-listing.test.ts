/**
 * The holder's paged shard listing (retention and orphan collection, docs/DESIGN.md §7.12): pages
 * of `SHARD_PAGE` entries in shard id order with storage times, and headers that fit one link
 * frame — as do deletes of `SHARD_PAGE` ids, which 1024 ids would not.
 */
import { describe, expect, it } from 'vitest';
import { MemoryHolderStore } from '../core/holder/holder-store.ts';
import { parseHolderReply, parsePartnerRequest, SHARD_PAGE } from '../core/partner/messages.ts';
import { encodeFrame } from '../p2p/frames.ts';
import { OversizedFrameError } from '../p2p/errors.ts';
import { HolderService } from './holder.ts';

const owner = { peerId: 'o'.repeat(32), publicKey: new Uint8Array(32) };
const id = (n: number): string => n.toString(16).padStart(64, '0');

describe('holder shard listing', () => {
  it('pages every held shard in order with its size and storage time, each header within a frame', async () => {
    let clock = 1_000;
    const store = new MemoryHolderStore(Number.POSITIVE_INFINITY, () => clock++);
    await store.setAllowance(owner.peerId, 1e9);
    const total = SHARD_PAGE * 2 + 37;
    for (let i = 0; i < total; i++) await store.put(owner.peerId, id(i), new Uint8Array(i % 7));
    const holder = new HolderService(store, null as never, async () => new Uint8Array(64));
    const seen: { shard: string; size: number; storedAt?: number }[] = [];
    let after: string | undefined;
    let pages = 0;
    for (;;) {
      const req = parsePartnerRequest(after === undefined ? { type: 'shard.list' } : { type: 'shard.list', after });
      const res = await holder.handle(owner, req, { message: req, body: null, signal: new AbortController().signal } as never);
      expect(() => encodeFrame({ kind: 'response', id: 1, message: res.message as never, hasBody: false })).not.toThrow();
      const page = parseHolderReply('shard.listing', JSON.parse(JSON.stringify(res.message)));
      pages++;
      seen.push(...page.shards);
      if (!page.more) break;
      after = page.shards.at(-1)!.shard;
    }
    expect(pages).toBe(3);
    expect(seen.map((s) => s.shard)).toEqual(Array.from({ length: total }, (_, i) => id(i)));
    expect(seen[5]).toEqual({ shard: id(5), size: 5, storedAt: 1_005 });
  });

  it('a delete of SHARD_PAGE ids fits one frame; 1024 ids would not', () => {
    const shards = (n: number) => Array.from({ length: n }, (_, i) => id(i));
    expect(() => encodeFrame({ kind: 'request', id: 1, message: { type: 'shard.delete', shards: shards(SHARD_PAGE) }, hasBody: false })).not.toThrow();
    expect(() => encodeFrame({ kind: 'request', id: 1, message: { type: 'shard.delete', shards: shards(1024) }, hasBody: false })).toThrow(OversizedFrameError);
  });
});
