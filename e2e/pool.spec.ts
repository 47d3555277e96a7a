/**
 * The open pool end to end: real Chromium contexts as devices, a real server that trusts
 * `X-Forwarded-For` (each context sends its own, so the server sees six networks — the header
 * reaches the WebSocket upgrade through Playwright's `extraHTTPHeaders`), real WebRTC links.
 *
 * Five contexts list themselves with different offers; a sixth runs "Find partners" and must form
 * probation agreements with exactly the candidates `selectPoolPartners` chooses from the same
 * inputs, stored with valid signatures on both sides, and none with the others.
 */
import type { BrowserContext, Page } from '@playwright/test';
import type { Runtime } from '../src/app/runtime.svelte.ts';
import type { PoolSearchView } from '../src/app/pool.svelte.ts';
import { parseSignedAgreement, type SignedAgreement } from '../src/core/agreement/index.ts';
import { selectPoolPartners } from '../src/core/pool/select.ts';
import { deviceContextOptions } from './browser.ts';
import { expect, test } from './fixtures.ts';
import { createIdentity } from './helpers/onboarding.ts';
import { openPartners, storedAgreements } from './helpers/partners.ts';
import { startServerProcess } from './server.ts';

interface DebugGlobal {
  backpactDebug: { runtime: Runtime };
}

interface Listed {
  name: string;
  /** The client address the (trusted) proxy reports. */
  ip: string;
  capacityGb: number;
  /** A self-reported negative balance, listed as a peer that takes more than it gives would. */
  balanceBytes?: number;
}

const LISTED: Listed[] = [
  { name: 'Cat', ip: '10.20.1.11', capacityGb: 20 }, // Cat and Dan share a /24: at most one of them
  { name: 'Dan', ip: '10.20.1.12', capacityGb: 20 },
  { name: 'Eve', ip: '10.30.7.1', capacityGb: 2 }, // offers less than the 5 GB wanted
  { name: 'Fay', ip: '10.40.7.1', capacityGb: 20, balanceBytes: -2e9 }, // takes more than it gives
  { name: 'Gus', ip: '10.50.7.1', capacityGb: 20 },
];

async function searchOf(page: Page): Promise<PoolSearchView> {
  return page.evaluate(() => JSON.parse(JSON.stringify((globalThis as unknown as DebugGlobal).backpactDebug.runtime.pool!.search)) as PoolSearchView);
}

async function waitForSignaling(page: Page): Promise<void> {
  await page.waitForFunction(() => (globalThis as unknown as DebugGlobal).backpactDebug?.runtime.network?.state === 'ready', null, { timeout: 30_000 });
}

async function optIn(page: Page, capacityGb: number): Promise<void> {
  await openPartners(page);
  await waitForSignaling(page);
  await page.getByLabel('Space you offer to strangers in all').selectOption(String(capacityGb));
  await page.getByLabel('List me in the open pool').check();
  // Shown once the server acknowledged the listing.
  await expect(page.getByTestId('pool-listed')).toContainText(`${capacityGb} GB still offered`);
}

async function runSearch(page: Page): Promise<PoolSearchView> {
  await page.getByRole('button', { name: 'Find partners' }).click();
  await expect(page.getByTestId('pool-status')).toHaveAttribute('data-status', /^(done|failed)$/, { timeout: 120_000 });
  const search = await searchOf(page);
  expect(search.status, search.message).toBe('done');
  return search;
}

/** The verdicts `selectPoolPartners` gives from the inputs the app recorded. */
function recompute(search: PoolSearchView): Set<string> {
  const verdicts = selectPoolPartners(
    search.candidates.map((c) => ({ id: c.id, name: c.name, offeredBytes: c.offeredBytes, uptime7d: c.uptime7d, networkToken: c.networkToken, rttMs: c.rttMs, balanceBytes: c.balanceBytes })),
    search.criteria,
  );
  return new Set(verdicts.filter((v) => v.chosen).map((v) => v.candidate.name));
}

test('five contexts join the pool with different offers; a sixth forms partnerships with exactly the candidates its criteria select', async ({ browser }) => {
  test.setTimeout(300_000);
  const server = await startServerProcess({ TRUST_PROXY: '1' });
  const contexts: BrowserContext[] = [];
  try {
    const open = async (ip: string): Promise<Page> => {
      const context = await browser.newContext({ ...deviceContextOptions(), extraHTTPHeaders: { 'X-Forwarded-For': ip } });
      contexts.push(context);
      const page = await context.newPage();
      await page.goto(server.info.url);
      return page;
    };
    const [zoe, ...listed] = await Promise.all([open('10.60.7.1'), ...LISTED.map((l) => open(l.ip))]);
    const byName = new Map(LISTED.map((l, i) => [l.name, listed[i]!]));
    await Promise.all([createIdentity(zoe!, 'Zoe'), ...LISTED.map((l, i) => createIdentity(listed[i]!, l.name))]);

    // Five listings with different offers.
    await Promise.all(LISTED.map((l, i) => optIn(listed[i]!, l.capacityGb)));
    const fay = LISTED.find((l) => l.balanceBytes !== undefined)!;
    await byName.get(fay.name)!.evaluate(({ name, balanceBytes, capacityGb }) =>
      (globalThis as unknown as DebugGlobal).backpactDebug.runtime.network!.signaling.poolList({ offeredBytes: capacityGb * 1e9, balanceBytes, name }), { ...fay, balanceBytes: fay.balanceBytes! });

    // The sixth: 20 GB for strangers, 5 GB with each, up to 3 new partners.
    await optIn(zoe!, 20);
    await expect(zoe!.getByLabel('Space to give and get with each new partner')).toHaveValue('5');
    await zoe!.getByLabel('New partners to find').selectOption('3');
    await expect(zoe!.getByTestId('pool-criteria')).toContainText('Offers at least 5 GB');
    await expect(zoe!.getByTestId('pool-criteria')).toContainText('at least 50% of the last week');
    await expect(zoe!.getByTestId('pool-criteria')).toContainText('within 400 ms');

    const search = await runSearch(zoe!);
    const cand = new Map(search.candidates.map((c) => [c.name, c]));
    expect([...cand.keys()].sort()).toEqual(LISTED.map((l) => l.name).sort());
    const chosen = new Set(search.candidates.filter((c) => c.chosen).map((c) => c.name));
    // Exactly what the criteria select from the same inputs…
    expect(chosen).toEqual(recompute(search));
    // …which here is Gus and one of the two on the same network.
    expect(chosen.has('Gus')).toBe(true);
    expect(chosen.size).toBe(2);
    const [winner, loser] = chosen.has('Cat') ? ['Cat', 'Dan'] : ['Dan', 'Cat'];
    expect(chosen.has(winner)).toBe(true);
    expect(cand.get('Cat')!.networkToken).toBe(cand.get('Dan')!.networkToken);
    expect(new Set(search.candidates.map((c) => c.networkToken)).size).toBe(4);
    expect(cand.get(loser)!.reasons.join(' ')).toMatch(/same network as a better-placed candidate/);
    expect(cand.get('Eve')!.reasons.join(' ')).toMatch(/offers less space than you need/);
    expect(cand.get('Eve')!.contacted).toBe(false);
    expect(cand.get('Fay')!.reasons.join(' ')).toMatch(/takes more space from others than it gives/);
    for (const c of search.candidates) {
      expect(c.uptime7d).toBeGreaterThanOrEqual(0.5);
      if (c.contacted) expect(c.rttMs, `${c.name} was measured`).not.toBeNull();
      expect(c.outcome).toBe(c.chosen ? 'agreed' : null);
    }

    // The UI shows the same verdicts and reasons.
    for (const c of search.candidates) {
      const row = zoe!.getByTestId('pool-candidate').filter({ hasText: c.name });
      await expect(row).toHaveAttribute('data-verdict', c.chosen ? 'chosen' : 'passed');
      await expect(row.getByTestId('pool-verdict')).toContainText(c.chosen ? 'Chosen' : 'Passed over');
      await expect(row.getByTestId('pool-reasons')).toHaveText(c.reasons.join('; '));
    }

    // Agreements: probation, 5 GB, both signatures valid, the same on both sides; none with the others.
    const zoeAgreements = (await storedAgreements(zoe!)).map((a) => parseSignedAgreement(a));
    const partnerOf = (a: SignedAgreement): string => (a.terms.a.name === 'Zoe' ? a.terms.b.name : a.terms.a.name);
    expect(new Set(zoeAgreements.map(partnerOf))).toEqual(chosen);
    for (const a of zoeAgreements) {
      expect(a.terms).toMatchObject({ probation: true, revision: 1, auditIntervalS: 6 * 3600, endsAt: null });
      expect(a.terms.a.holdsBytes).toBe(5e9);
      const theirs = (await storedAgreements(byName.get(partnerOf(a))!)).map((x) => parseSignedAgreement(x));
      expect(theirs).toEqual([a]);
    }
    for (const l of LISTED.filter((x) => !chosen.has(x.name))) {
      expect(await storedAgreements(byName.get(l.name)!), `${l.name} has no agreement`).toEqual([]);
    }
    // Passed-over candidates that were contacted dropped the temporary link (pool.bye).
    for (const c of search.candidates.filter((x) => x.contacted && !x.chosen)) {
      await expect.poll(() => byName.get(c.name)!.evaluate(() => (globalThis as unknown as DebugGlobal).backpactDebug.runtime.network!.peers.links().length)).toBe(0);
    }
    // Both sides show the new partners as being on probation.
    for (const name of chosen) {
      await expect(zoe!.getByTestId('partner').filter({ hasText: name })).toContainText('on probation');
      await expect(byName.get(name)!.getByTestId('partner').filter({ hasText: 'Zoe' })).toContainText('on probation', { timeout: 15_000 });
    }
    // Each chosen partner now offers 5 GB less.
    for (const name of chosen) await expect(byName.get(name)!.getByTestId('pool-listed')).toContainText('15 GB still offered');

    // A second search: the partners' networks now count, and nobody else qualifies.
    const again = await runSearch(zoe!);
    const second = new Map(again.candidates.map((c) => [c.name, c]));
    expect(again.candidates.filter((c) => c.chosen)).toEqual([]);
    expect([...again.criteria.existingNetworkTokens].sort()).toEqual([cand.get(winner)!.networkToken, cand.get('Gus')!.networkToken].sort());
    for (const name of chosen) expect(second.get(name)!.reasons.join(' ')).toMatch(/already your partner/);
    expect(second.get(loser)!.reasons.join(' ')).toMatch(/same network as one of your partners/);
    expect((await storedAgreements(zoe!)).length).toBe(2);
    await expect(zoe!.getByTestId('pool-status')).toContainText('No new partners this time.');
  } finally {
    await Promise.all(contexts.map((c) => c.close()));
    await server.stop();
  }
});
