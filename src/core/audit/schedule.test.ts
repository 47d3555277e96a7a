import { describe, expect, it } from 'vitest';
import type { PackPlacement } from '../manifest/placement.ts';
import type { PackId, PeerId, ShardId } from '../ids.ts';
import { auditTargets, nextAuditAt } from './schedule.ts';

const root = new Uint8Array(32).fill(1);
function placement(pack: string, holders: (string | null)[], shardLength = 4096): PackPlacement {
  return {
    packId: pack.repeat(64).slice(0, 64) as PackId,
    length: shardLength,
    dataCount: 1,
    parityCount: holders.length - 1,
    shardLength,
    shards: holders.map((h, i) => ({ id: `${pack}${i}`.padEnd(64, '0') as ShardId, holder: h as PeerId | null, merkleRoot: root })),
  };
}

describe('audit targets and schedule', () => {
  it('groups shards by holder, once each, skipping the outbox', () => {
    const t = auditTargets([placement('a', ['p1', 'p2', null]), placement('b', ['p2', 'p1', 'p3'], 10_000), placement('a', ['p1', 'p2', null])]);
    expect([...t.keys()].sort()).toEqual(['p1', 'p2', 'p3']);
    expect(t.get('p1')!.map((s) => s.shard)).toEqual(['a0'.padEnd(64, '0'), 'b1'.padEnd(64, '0')]);
    expect(t.get('p3')![0]!.leaves).toBe(10);
    expect(t.get('p1')![0]!.root).toBe(root);
  });

  it('is due at once before any round, then after the interval ± 10 %', () => {
    expect(nextAuditAt(null, 86400, 0.5)).toBe(0);
    expect(nextAuditAt(1000, 86400, 0)).toBe(1000 + 0.9 * 86400_000);
    expect(nextAuditAt(1000, 86400, 0.999999)).toBeCloseTo(1000 + 1.1 * 86400_000, -3);
  });
});
