/**
 * Owner-side audits: works out which partners are due (per agreement interval, with jitter),
 * challenges them through a transport, verifies the answers against the Merkle roots in the
 * snapshot manifests, and records verdicts and partner health in IndexedDB. It runs in the service
 * worker (which owns the schedule and the verdicts) and needs no browser API beyond IndexedDB and
 * WebCrypto. Every step is persisted, so a round interrupted by the browser stopping the worker
 * is simply run again later; an interrupted round is never counted against a partner.
 */
import type { IDBPDatabase } from 'idb';
import { otherParty, parseSignedAgreement, publicKeyText, type SignedAgreement } from '../core/agreement/index.ts';
import {
  auditTargets, CoverageMemory, cryptoRandomInt, drawChallenge, healthState, initialHealth, nextAuditAt, partnerWarning, recordAudit,
  recordUnreachable, score, verifyAnswer, type AuditTarget, type HealthState, type PartnerHealth, type PartnerWarning,
} from '../core/audit/index.ts';
import { fromBase32 } from '../core/encoding/bytes.ts';
import { peerIdFromPublicKey } from '../core/keys/identity.ts';
import { openManifest } from '../core/manifest/snapshot.ts';
import type { PackPlacement } from '../core/manifest/placement.ts';
import { toBase64Url } from '../protocol/encoding.ts';
import type { BackpactDB } from '../store/db.ts';

/** Most results kept per partner for the timeline. */
export const AUDIT_HISTORY = 200;

/** One audit result, as shown on the partner's timeline. */
export interface AuditEntry {
  at: number;
  result: 'pass' | 'fail' | 'unreachable';
  reason?: string;
  /** Score after this result. */
  score: number;
  /** Bytes of the answer. */
  wireBytes: number;
}

/** What is kept per partner under `kv/audit/<peerId>`. */
export interface AuditState {
  v: 1;
  peerId: string;
  health: PartnerHealth;
  /** Global leaf numbers asked recently (see `CoverageMemory`). */
  coverage: number[];
  history: AuditEntry[];
  /** Unix ms when the next round is due. */
  nextAt: number;
}

/** A partner's audit summary for the UI. */
export interface AuditSummary {
  peerId: string;
  state: HealthState;
  score: number;
  lastAuditAt: number | null;
  history: AuditEntry[];
  /** The warning due now (DESIGN §8 "Warnings before a drop"), or null. */
  warning: PartnerWarning | null;
}

/** How challenges reach a partner: resolves the answer bytes, or null when it cannot be reached. */
export type AuditTransport = (partnerPublicKey: Uint8Array, challenge: { type: 'audit.challenge'; nonce: string; items: { shard: string; leaves: number[] }[] }) => Promise<Uint8Array | null>;

const key = (peerId: string): string => `audit/${peerId}`;

/** A valid stored agreement seen from this device: the terms and the other party. */
export interface PartnerAgreement {
  signed: SignedAgreement;
  /** The other party as the terms name it (public key in base32, name). */
  other: ReturnType<typeof otherParty>;
  partnerKey: Uint8Array;
  peerId: string;
}

/**
 * Every stored agreement that parses and verifies, with its other party; none before an identity
 * exists. Agreements that do not verify are skipped (they were never accepted).
 */
export async function partnerAgreements(db: IDBPDatabase<BackpactDB>): Promise<PartnerAgreement[]> {
  const me = (await db.get('kv', 'identity')) as { publicKey: Uint8Array } | undefined;
  if (!me) return [];
  const mine = publicKeyText(me.publicKey);
  const out: PartnerAgreement[] = [];
  for (const rec of (await db.getAll('agreements')) as { signed: unknown }[]) {
    let signed: SignedAgreement;
    try {
      signed = parseSignedAgreement(rec.signed);
    } catch {
      continue;
    }
    const other = otherParty(signed.terms, mine);
    const partnerKey = fromBase32(other.publicKey);
    out.push({ signed, other, partnerKey, peerId: peerIdFromPublicKey(partnerKey) });
  }
  return out;
}

/** Reads every partner's audit state (for the UI), judged under its agreement's grace period. */
export async function auditSummaries(db: IDBPDatabase<BackpactDB>, now = Date.now()): Promise<AuditSummary[]> {
  const out: AuditSummary[] = [];
  for (const { signed, peerId } of await partnerAgreements(db)) {
    const s = (await db.get('kv', key(peerId))) as AuditState | undefined;
    if (!s) continue;
    out.push({
      peerId, state: healthState(s.health, now, signed.terms.graceS), score: score(s.health), lastAuditAt: s.health.lastAuditAt, history: s.history,
      warning: signed.terms.endsAt === null ? partnerWarning(s.health, now, signed.terms.graceS, signed.terms.auditIntervalS) : null,
    });
  }
  return out;
}

/** Runs due audit rounds. */
export class AuditRunner {
  constructor(
    private readonly db: IDBPDatabase<BackpactDB>,
    private readonly transport: AuditTransport,
    private readonly now: () => number = () => Date.now(),
    private readonly random01: () => number = () => cryptoRandomInt(2 ** 32) / 2 ** 32,
  ) {}

  /** Shards each partner holds for us, from the manifests of the snapshots this device knows. */
  async targets(): Promise<Map<string, AuditTarget[]>> {
    const identity = (await this.db.get('kv', 'identity')) as { indexKey: Uint8Array } | undefined;
    if (!identity) return new Map();
    const placements: PackPlacement[] = [];
    const snapshots = this.db.objectStoreNames.contains('snapshots') ? await this.db.getAll('snapshots') : [];
    for (const snap of snapshots) {
      placements.push(snap.manifest);
      if (!snap.envelope) continue;
      try {
        const manifest = await openManifest(identity.indexKey, new Uint8Array(snap.envelope), snap.id);
        placements.push(...manifest.packs);
      } catch {
        // A manifest that does not open is a local problem, not the partners': skip it here.
      }
    }
    const targets = auditTargets(placements);
    // Shards a holder reported damaged (`kv/damaged/<peerId>`, DESIGN §8) are not audited until the
    // repair has rebuilt them: an honest report must not be punished as if it had been caught.
    for (const [peerId, shards] of targets) {
      const damaged = (await this.db.get('kv', `damaged/${peerId}`)) as { shards?: string[] } | undefined;
      if (!damaged?.shards?.length) continue;
      const skip = new Set(damaged.shards);
      targets.set(peerId, shards.filter((t) => !skip.has(t.shard)));
    }
    return targets;
  }

  /** Runs every round that is due now; resolves the results recorded. */
  async runDue(): Promise<{ peerId: string; entry: AuditEntry }[]> {
    const targets = await this.targets();
    const results: { peerId: string; entry: AuditEntry }[] = [];
    for (const { signed, partnerKey, peerId } of await partnerAgreements(this.db)) {
      if (signed.terms.endsAt !== null) continue;
      const shards = targets.get(peerId);
      if (!shards || shards.length === 0) continue;
      const state = ((await this.db.get('kv', key(peerId))) as AuditState | undefined) ?? {
        v: 1, peerId, health: initialHealth(), coverage: [], history: [], nextAt: 0,
      };
      if (this.now() < state.nextAt) continue;
      const entry = await this.#round(partnerKey, shards, state, signed.terms.auditIntervalS);
      results.push({ peerId, entry });
    }
    return results;
  }

  async #round(partnerKey: Uint8Array, shards: AuditTarget[], state: AuditState, intervalS: number): Promise<AuditEntry> {
    const memory = new CoverageMemory(state.coverage);
    const challenge = drawChallenge(shards, cryptoRandomInt, 16, memory);
    const nonce = globalThis.crypto.getRandomValues(new Uint8Array(16));
    const answer = await this.transport(partnerKey, { type: 'audit.challenge', nonce: toBase64Url(nonce), items: challenge });
    const at = this.now();
    let health: PartnerHealth;
    let entry: AuditEntry;
    if (answer === null) {
      health = recordUnreachable(state.health, at);
      entry = { at, result: 'unreachable', score: score(health), wireBytes: 0 };
    } else {
      const byId = new Map(shards.map((s) => [s.shard, s]));
      const verdict = verifyAnswer(answer, partnerKey, nonce, challenge, (id) => byId.get(id));
      health = recordAudit(state.health, verdict.ok, at);
      entry = verdict.ok
        ? { at, result: 'pass', score: score(health), wireBytes: answer.length }
        : { at, result: 'fail', reason: verdict.reason, score: score(health), wireBytes: answer.length };
    }
    // Unreachable partners are tried again sooner: they are not failing, but we want to know.
    const nextAt = answer === null ? at + Math.min(intervalS * 1000, 3600_000) : nextAuditAt(at, intervalS, this.random01());
    const next: AuditState = {
      v: 1, peerId: state.peerId, health, coverage: [...memory.asked], history: [...state.history, entry].slice(-AUDIT_HISTORY), nextAt,
    };
    await this.db.put('kv', next, key(state.peerId));
    return entry;
  }
}
