/**
 * What to audit and when. Targets come from the pack placements of the snapshots the owner keeps
 * (each shard's holder and Merkle root are in the manifest), so a device restored from the phrase
 * can audit as soon as it has fetched its manifests. The schedule follows each agreement's audit
 * interval with jitter, so partners are not all challenged at the same moment and a holder cannot
 * predict the next round to the minute.
 */
import type { PackPlacement } from '../manifest/placement.ts';
import { leafCount } from '../merkle/index.ts';
import type { AuditableShard } from './sampler.ts';

/** A shard to audit, with what the owner needs to check answers. */
export interface AuditTarget extends AuditableShard {
  root: Uint8Array;
}

/**
 * Groups every placed shard by holder (PeerId). A shard listed by several placements (the same
 * pack kept by several snapshots) appears once. Shards still in the outbox (no holder) are skipped.
 */
export function auditTargets(placements: Iterable<PackPlacement>): Map<string, AuditTarget[]> {
  const out = new Map<string, Map<string, AuditTarget>>();
  for (const p of placements) {
    for (const s of p.shards) {
      if (s.holder === null) continue;
      let byShard = out.get(s.holder);
      if (!byShard) out.set(s.holder, (byShard = new Map()));
      byShard.set(s.id, { shard: s.id, leaves: leafCount(p.shardLength), root: s.merkleRoot });
    }
  }
  return new Map([...out].map(([holder, m]) => [holder, [...m.values()].sort((a, b) => (a.shard < b.shard ? -1 : 1))]));
}

/** Jitter: the next round comes after interval × (1 − JITTER … 1 + JITTER). */
export const AUDIT_JITTER = 0.1;

/**
 * When the next round with a partner is due, given when the last round finished (or null before
 * any: due at once), the agreement's interval and a uniform random number in [0, 1).
 */
export function nextAuditAt(lastAt: number | null, intervalS: number, random01: number): number {
  if (lastAt === null) return 0;
  return lastAt + intervalS * 1000 * (1 - AUDIT_JITTER + 2 * AUDIT_JITTER * random01);
}
