/**
 * The holder side: serves a partner's requests to store, return and delete its shards and to keep
 * its latest root record. Every refusal is explicit (a `RequestRefusedError` with a code from
 * `REFUSAL`) and leaves nothing stored. A shard is acknowledged only after the IndexedDB
 * transaction holding it has committed (strict durability, see `IdbHolderStore.put`).
 */
import type { IDBPDatabase } from 'idb';
import { DeviceStorageFullError, HolderQuotaExceededError, NoAgreementError } from '../core/holder/errors.ts';
import type { HolderStore } from '../core/holder/holder-store.ts';
import { verifyRootRecord } from '../core/manifest/root-record.ts';
import { MAX_ROOT_RECORD_BYTES, MAX_SHARD_BYTES, REFUSAL, SHARD_PAGE, type PartnerRequest } from '../core/partner/messages.ts';
import { BackpactError } from '../core/errors.ts';
import { buildAnswer } from '../core/audit/answer.ts';
import { RequestRefusedError } from '../p2p/errors.ts';
import type { IncomingRequest, OutgoingResponse } from '../p2p/link.ts';
import { fromBase64Url, toBase64Url } from '../protocol/encoding.ts';
import type { BackpactDB } from '../store/db.ts';

/** Who is asking: the partner's identity, already authenticated by the link binding. */
export interface Requester {
  /** Core PeerId of the partner (the owner of what it stores here). */
  peerId: string;
  /** Its Ed25519 public key. */
  publicKey: Uint8Array;
}

/** Counters the UI and tests read: what this device served. */
export interface HolderCounters {
  putBytes: number;
  getBytes: number;
  puts: number;
  gets: number;
  refusals: number;
  audits: number;
  /** Shard ids owners asked this device to delete (repair, ended agreements). */
  deleteRequests: number;
}

function refuse(code: string, message: string): never {
  throw new RequestRefusedError(code, message);
}

function rootKey(owner: string): string {
  return `root/${owner}`;
}

/** Serves holder requests for all partners. */
export class HolderService {
  readonly counters: HolderCounters = { putBytes: 0, getBytes: 0, puts: 0, gets: 0, refusals: 0, audits: 0, deleteRequests: 0 };

  constructor(
    private readonly store: HolderStore,
    private readonly db: IDBPDatabase<BackpactDB>,
    /** Signs audit answers with this device's identity (tagged, see core `signTagged`). */
    private readonly signTagged: (tag: string, message: Uint8Array) => Promise<Uint8Array>,
  ) {}

  /** Handles one holder request; resolves the response or throws a refusal. */
  async handle(from: Requester, req: PartnerRequest, incoming: IncomingRequest): Promise<OutgoingResponse> {
    try {
      return await this.#handle(from, req, incoming);
    } catch (err) {
      this.counters.refusals++;
      throw err;
    }
  }

  /**
   * Answers an audit challenge (over a link, or relayed: see audit-relay.ts) from the bytes actually
   * held, whatever they are: the owner judges them against its Merkle roots. A missing shard or
   * leaf is answered with no proof for it.
   */
  async answerAudit(from: Requester, req: Extract<PartnerRequest, { type: 'audit.challenge' }>): Promise<Uint8Array> {
    const nonce = fromBase64Url(req.nonce);
    if (!nonce || nonce.length !== 16) refuse(REFUSAL.badRequest, 'bad nonce');
    const answer = await buildAnswer((shard) => this.store.get(from.peerId, shard), nonce, req.items, this.signTagged);
    this.counters.audits++;
    return answer;
  }

  async #handle(from: Requester, req: PartnerRequest, incoming: IncomingRequest): Promise<OutgoingResponse> {
    switch (req.type) {
      case 'shard.put': {
        if (!incoming.body) refuse(REFUSAL.badRequest, 'a shard put needs a body');
        // Refuse early, before reading megabytes, when the owner has no room at all.
        const usage = await this.store.usage(from.peerId);
        if (usage.allowed === null) refuse(REFUSAL.noAgreement, 'There is no backup agreement with this partner, so nothing was stored.');
        const bytes = await incoming.body.bytes(MAX_SHARD_BYTES);
        if (bytes.length !== req.size) refuse(REFUSAL.badRequest, `the shard has ${bytes.length} bytes, not the ${req.size} announced`);
        try {
          await this.store.put(from.peerId, req.shard, bytes, req.root);
        } catch (err) {
          if (err instanceof NoAgreementError) refuse(REFUSAL.noAgreement, err.message);
          if (err instanceof HolderQuotaExceededError) refuse(REFUSAL.quotaExceeded, err.message);
          if (err instanceof DeviceStorageFullError) refuse(REFUSAL.deviceFull, err.message);
          throw err;
        }
        this.counters.puts++;
        this.counters.putBytes += bytes.length;
        return { message: { type: 'shard.stored', shard: req.shard } };
      }
      case 'shard.get': {
        const bytes = await this.store.get(from.peerId, req.shard);
        if (!bytes) refuse(REFUSAL.notFound, 'this partner holds no such shard for you');
        this.counters.gets++;
        this.counters.getBytes += bytes.length;
        return { message: { type: 'shard.data', size: bytes.length }, body: bytes };
      }
      case 'shard.delete': {
        let count = 0;
        this.counters.deleteRequests += req.shards.length;
        for (const s of req.shards) if (await this.store.delete(from.peerId, s)) count++;
        return { message: { type: 'shard.deleted', count } };
      }
      case 'shard.list': {
        // Pages in shard id order, each header within one link frame; `storedAt` lets the owner
        // leave alone shards a backup running elsewhere may have just stored (§7.12).
        const list = (await this.store.list(from.peerId)).filter((s) => req.after === undefined || s.shard > req.after);
        const page = list.slice(0, SHARD_PAGE);
        const usage = await this.store.usage(from.peerId);
        return {
          message: { type: 'shard.listing', shards: page.map((s) => [s.shard, s.size, s.storedAt]), used: usage.used, allowed: usage.allowed, more: list.length > page.length },
        };
      }
      case 'root.put': {
        const bytes = fromBase64Url(req.record);
        if (!bytes || bytes.length > MAX_ROOT_RECORD_BYTES) refuse(REFUSAL.badRequest, 'not a root record');
        const usage = await this.store.usage(from.peerId);
        if (usage.allowed === null) refuse(REFUSAL.noAgreement, 'There is no backup agreement with this partner.');
        const current = (await this.db.get('kv', rootKey(from.peerId))) as Uint8Array | undefined;
        let currentSeq: number | undefined;
        if (current) currentSeq = verifyRootRecord(current).seq;
        let seq: number;
        try {
          // Only the owner's own signature counts, and never an older record than the one held.
          seq = verifyRootRecord(bytes, { expectedOwner: from.publicKey, ...(currentSeq !== undefined ? { knownSeq: currentSeq } : {}) }).seq;
        } catch (err) {
          if (err instanceof BackpactError && err.code === 'stale-record') refuse(REFUSAL.stale, err.message);
          refuse(REFUSAL.badRequest, err instanceof Error ? err.message : 'invalid root record');
        }
        await this.db.put('kv', bytes, rootKey(from.peerId));
        return { message: { type: 'root.stored', seq } };
      }
      case 'audit.challenge': {
        const answer = await this.answerAudit(from, req);
        return { message: { type: 'audit.answer', size: answer.length }, body: answer };
      }
      case 'root.get': {
        const current = (await this.db.get('kv', rootKey(from.peerId))) as Uint8Array | undefined;
        return { message: { type: 'root.record', record: current ? toBase64Url(current) : null } };
      }
      default:
        refuse(REFUSAL.badRequest, `${req.type} is not a holder request`);
    }
  }
}
