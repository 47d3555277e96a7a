import { describe, expect, it } from 'vitest';
import { selectPoolPartners, type PoolCandidate, type PoolCriteria } from './select.ts';

const GB = 1e9;
const base: PoolCandidate = { id: 'x', name: 'X', offeredBytes: 10 * GB, uptime7d: 0.9, networkToken: 'n1', rttMs: 50, balanceBytes: 0 };
const criteria: PoolCriteria = {
  wantedBytes: 5 * GB, minUptime: 0.5, maxRttMs: 400, minBalanceBytes: 0,
  existingNetworkTokens: ['home'], existingPartners: ['friend'], count: 2,
};

describe('open pool selection', () => {
  it('applies every stated criterion and explains each verdict', () => {
    const candidates: PoolCandidate[] = [
      { ...base, id: 'good-1', networkToken: 'n1', uptime7d: 0.95 },
      { ...base, id: 'small', offeredBytes: 2 * GB, networkToken: 'n2' },
      { ...base, id: 'flaky', uptime7d: 0.2, networkToken: 'n3' },
      { ...base, id: 'neighbour', networkToken: 'home' },
      { ...base, id: 'far', rttMs: 900, networkToken: 'n4' },
      { ...base, id: 'taker', balanceBytes: -GB, networkToken: 'n5' },
      { ...base, id: 'good-2', networkToken: 'n6', uptime7d: 0.8 },
      { ...base, id: 'friend', networkToken: 'n7' },
      { ...base, id: 'unreachable', rttMs: null, networkToken: 'n8' },
    ];
    const v = Object.fromEntries(selectPoolPartners(candidates, criteria).map((x) => [x.candidate.id, x]));
    expect(Object.values(v).filter((x) => x.chosen).map((x) => x.candidate.id).sort()).toEqual(['good-1', 'good-2']);
    expect(v.small!.reasons.join()).toMatch(/less space/);
    expect(v.flaky!.reasons.join()).toMatch(/online only 20%/);
    expect(v.neighbour!.reasons.join()).toMatch(/same network as one of your partners/);
    expect(v.far!.reasons.join()).toMatch(/too slow/);
    expect(v.taker!.reasons.join()).toMatch(/takes more/);
    expect(v.friend!.reasons.join()).toMatch(/already your partner/);
    expect(v.unreachable!.reasons.join()).toMatch(/could not be reached/);
    expect(v['good-1']!.reasons.join()).toMatch(/online 95%/);
  });

  it('never picks two candidates on the same network, and stops at the count', () => {
    const candidates: PoolCandidate[] = [
      { ...base, id: 'a', networkToken: 'same', uptime7d: 0.99 },
      { ...base, id: 'b', networkToken: 'same', uptime7d: 0.98 },
      { ...base, id: 'c', networkToken: 'other', uptime7d: 0.7 },
      { ...base, id: 'd', networkToken: 'third', uptime7d: 0.6 },
    ];
    const v = selectPoolPartners(candidates, criteria);
    expect(v.filter((x) => x.chosen).map((x) => x.candidate.id)).toEqual(['a', 'c']);
    expect(v.find((x) => x.candidate.id === 'b')!.reasons.join()).toMatch(/same network as a better-placed/);
    expect(v.find((x) => x.candidate.id === 'd')!.reasons.join()).toMatch(/enough partners/);
  });

  it('ranks by uptime, then round-trip time, ties by id (deterministic)', () => {
    const candidates: PoolCandidate[] = [
      { ...base, id: 'slow', networkToken: 't1', uptime7d: 0.9, rttMs: 390 },
      { ...base, id: 'fast', networkToken: 't2', uptime7d: 0.9, rttMs: 10 },
      { ...base, id: 'z', networkToken: 't3', uptime7d: 0.5, rttMs: 10 },
    ];
    const chosen = selectPoolPartners(candidates, { ...criteria, count: 1 }).filter((x) => x.chosen);
    expect(chosen.map((x) => x.candidate.id)).toEqual(['fast']);
  });
});
