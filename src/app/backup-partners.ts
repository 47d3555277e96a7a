/**
 * The partners as the owner's backup sees them: who may hold shards (running agreements, with
 * the availability they promised), how to reach each (a bound link, by core PeerId), and the two
 * shard requests. On a device restored from the phrase the root record's partner list fills in
 * partners whose agreements have not arrived yet.
 */
import { otherParty, publicKeyText } from '../core/agreement/index.ts';
import type { Availability } from '../core/agreement/terms.ts';
import { fromBase32 } from '../core/encoding/bytes.ts';
import type { PeerId, ShardId } from '../core/ids.ts';
import { peerIdFromPublicKey } from '../core/keys/identity.ts';
import { MAX_SHARD_BYTES, parseHolderReply } from '../core/partner/messages.ts';
import { LinkClosedError, RemoteError, RequestCancelledError, RequestTimeoutError } from '../p2p/errors.ts';
import { publicKeyOf, signalingIdOf } from '../p2p/identity.ts';
import type { PeerLink } from '../p2p/link.ts';
import type { SignalingId } from '../protocol/signaling.ts';
import type { LocalIdentity } from './identity.ts';
import type { AppNetwork } from './network.ts';
import type { PartnershipService } from './partnerships.svelte.ts';

/** Time for a holder to take a shard and commit it (its body travels first). */
export const SHARD_PUT_TIMEOUT_MS = 120_000;
/** Time for a holder to start answering a shard read. */
export const SHARD_GET_TIMEOUT_MS = 60_000;

/** One partner. */
export interface BackupPartner {
  readonly peerId: PeerId;
  readonly signalingId: SignalingId;
  readonly publicKey: Uint8Array;
  readonly name: string;
  readonly availability: Availability;
  /** True while an agreement runs (only then does it get new shards). */
  readonly running: boolean;
  /** A stranger from the open pool on probation: at most one shard of any pack. */
  readonly probation?: boolean;
}

/** A holder turned a shard down for good (quota, no agreement, device full): do not retry. */
export class ShardRefusedError extends Error {
  override name = 'ShardRefusedError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** True for failures that may pass (link lost, timeout, busy): the shard goes to the outbox. */
export function isTransient(err: unknown): boolean {
  if (err instanceof LinkClosedError || err instanceof RequestTimeoutError || err instanceof RequestCancelledError) return true;
  if (err instanceof RemoteError) return err.remoteCode === 'busy' || err.remoteCode === 'internal';
  return !(err instanceof ShardRefusedError);
}

/**
 * Sends one shard; resolves once the holder acknowledged it durable. `root` (hex Merkle root of
 * the shard) lets the holder check its copy by itself later (DESIGN §8, scrub).
 */
export async function putShard(link: PeerLink, shard: ShardId, bytes: Uint8Array, signal?: AbortSignal, root?: string): Promise<void> {
  try {
    const res = await link.request({ type: 'shard.put', shard, size: bytes.length, ...(root ? { root } : {}) }, { body: bytes, timeoutMs: SHARD_PUT_TIMEOUT_MS, ...(signal ? { signal } : {}) });
    if (parseHolderReply('shard.stored', res.message).shard !== shard) throw new Error('the holder acknowledged another shard');
  } catch (err) {
    if (err instanceof RemoteError && err.remoteCode !== 'busy' && err.remoteCode !== 'internal') throw new ShardRefusedError(err.remoteCode, err.message);
    throw err;
  }
}

/** Reads one shard from its holder; null when the holder does not have it. */
export async function getShard(link: PeerLink, shard: ShardId, signal?: AbortSignal): Promise<Uint8Array | null> {
  try {
    const res = await link.request({ type: 'shard.get', shard }, { timeoutMs: SHARD_GET_TIMEOUT_MS, ...(signal ? { signal } : {}) });
    const { size } = parseHolderReply('shard.data', res.message);
    if (!res.body) throw new Error('the holder sent no shard bytes');
    // Received straight into a buffer of the announced size (no concatenation at the end).
    const bytes = await res.body.bytes(MAX_SHARD_BYTES, size);
    if (bytes.length !== size) throw new Error(`the holder announced ${size} bytes and sent ${bytes.length}`);
    return bytes;
  } catch (err) {
    if (err instanceof RemoteError && err.remoteCode === 'not-found') return null;
    throw err;
  }
}

/** Partners by PeerId, from agreements and the root record. */
export class BackupPartners {
  /** Partners named by a root record (a restored device) but without an agreement here yet. */
  readonly #fromRecord = new Map<PeerId, { publicKey: Uint8Array; label: string }>();

  constructor(
    private readonly me: LocalIdentity,
    readonly network: AppNetwork,
    private readonly partnerships: PartnershipService,
  ) {}

  /** Every known partner: agreements first, then partners only the root record names. */
  all(): BackupPartner[] {
    const mine = publicKeyText(this.me.publicKey);
    const out = new Map<PeerId, BackupPartner>();
    for (const a of this.partnerships.agreements()) {
      const other = otherParty(a.terms, mine);
      const publicKey = fromBase32(other.publicKey);
      const peerId = peerIdFromPublicKey(publicKey);
      const running = a.terms.endsAt === null;
      const prev = out.get(peerId);
      if (prev?.running) continue;
      out.set(peerId, { peerId, publicKey, signalingId: signalingIdOf(publicKey), name: other.name, availability: other.availability, running, probation: a.terms.probation });
    }
    for (const [peerId, p] of this.#fromRecord) {
      if (out.has(peerId)) continue;
      out.set(peerId, { peerId, publicKey: p.publicKey, signalingId: signalingIdOf(p.publicKey), name: p.label, availability: 'few-hours', running: false });
    }
    return [...out.values()];
  }

  /**
   * True while an invite is being answered or accepted. Such a peer is linked in invite mode,
   * and adding it as a plain partner would replace that mode, so discovery leaves it alone.
   */
  negotiating(): boolean {
    const join = this.partnerships.join;
    if (join && (join.status === 'connecting' || join.status === 'offer' || join.status === 'waiting')) return true;
    return this.partnerships.invites.some((v) => v.status === 'connecting' || v.status === 'offered' || v.status === 'countered');
  }

  /** True when `id` is a partner by agreement. */
  hasAgreementWith(id: SignalingId): boolean {
    const mine = publicKeyText(this.me.publicKey);
    return this.partnerships.agreements().some((a) => signalingIdOf(fromBase32(otherParty(a.terms, mine).publicKey)) === id);
  }

  /** Partners with an agreement, every one of which has ended (repair moves their shards away). */
  ended(): PeerId[] {
    const mine = publicKeyText(this.me.publicKey);
    const byPeer = new Map<PeerId, boolean>();
    for (const a of this.partnerships.agreements()) {
      const peerId = peerIdFromPublicKey(fromBase32(otherParty(a.terms, mine).publicKey));
      byPeer.set(peerId, (byPeer.get(peerId) ?? false) || a.terms.endsAt === null);
    }
    return [...byPeer].filter(([, running]) => !running).map(([peerId]) => peerId);
  }

  /** Calls `listener` after an agreement (or a revision) is stored; returns the unsubscriber. */
  onAgreementStored(listener: () => void): () => void {
    return this.partnerships.onAgreementStored(() => listener());
  }

  /** Partners that take new shards. */
  holders(): BackupPartner[] {
    return this.all().filter((p) => p.running);
  }

  /** Records partners listed in a root record, and links to them whenever they are online. */
  async learn(partners: readonly { publicKey: Uint8Array; label: string }[]): Promise<void> {
    for (const p of partners) {
      const peerId = peerIdFromPublicKey(p.publicKey);
      if (!this.#fromRecord.has(peerId)) this.#fromRecord.set(peerId, { publicKey: p.publicKey.slice(), label: p.label });
      await this.network.peers.addPartner(signalingIdOf(p.publicKey));
    }
  }

  /** The partner with this PeerId, if known. */
  get(peerId: PeerId): BackupPartner | undefined {
    return this.all().find((p) => p.peerId === peerId);
  }

  /** A bound link to the partner, if it is online now. */
  link(peerId: PeerId): PeerLink | undefined {
    const p = this.get(peerId);
    return p ? this.network.peers.linkTo(p.signalingId) : undefined;
  }

  /** The PeerId of a linked signaling id. */
  static peerIdOf(id: SignalingId): PeerId {
    return peerIdFromPublicKey(publicKeyOf(id));
  }

  /** Name to show for a holder. */
  nameOf(peerId: PeerId | null): string {
    if (peerId === null) return 'nobody';
    return this.get(peerId)?.name ?? `partner ${peerId.slice(0, 6)}`;
  }
}
