/** Node-side drivers of the e2e harness page's peer-link API (`/e2e-harness.html`). */
import type { Page } from '@playwright/test';
import type { P2pHarness } from '../../src/e2e-harness/p2p.ts';

/** Open `openPeers` on the harness page instead of the app. */
export const HARNESS = { path: '/e2e-harness.html' };

/**
 * Node-side wrappers of `backpactHarness.p2p` in one page. (Each body runs in the page, so each
 * names the harness itself: functions cannot close over Node values.)
 */
export function device(page: Page) {
  return {
    async start(wsUrl: string, impostor = false): Promise<string> {
      await page.waitForFunction(() => globalThis.backpactHarness?.ready === true);
      const self = await page.evaluate(([u, i]) => (globalThis.backpactHarness.p2p as P2pHarness).start({ wsUrl: u, impostor: i }), [wsUrl, impostor] as const);
      return self.id;
    },
    addPartner: (id: string) => page.evaluate((x) => (globalThis.backpactHarness.p2p as P2pHarness).addPartner(x), id),
    waitForLink: (id: string) => page.evaluate((x) => (globalThis.backpactHarness.p2p as P2pHarness).waitForLink(x), id),
    waitForEvent: (prefix: string) => page.evaluate((x) => (globalThis.backpactHarness.p2p as P2pHarness).waitForEvent(x), prefix),
    events: () => page.evaluate(() => (globalThis.backpactHarness.p2p as P2pHarness).events()),
    ping: (id: string) => page.evaluate((x) => (globalThis.backpactHarness.p2p as P2pHarness).ping(x), id),
    sendBlob: (id: string, mib: number, seed: number) => page.evaluate(([x, m, s]) => (globalThis.backpactHarness.p2p as P2pHarness).sendBlob(x, m, s), [id, mib, seed] as const),
    createInvite: () => page.evaluate(() => (globalThis.backpactHarness.p2p as P2pHarness).createInvite()),
    acceptInvite: (text: string) => page.evaluate((x) => (globalThis.backpactHarness.p2p as P2pHarness).acceptInvite(x), text),
    simulateNetworkLoss: (id: string) => page.evaluate((x) => (globalThis.backpactHarness.p2p as P2pHarness).simulateNetworkLoss(x), id),
    state: () => page.evaluate(() => {
      const h = globalThis.backpactHarness.p2p as P2pHarness;
      return { links: h.linkCount(), served: h.served(), linked: h.events().filter((e) => e.startsWith('link:')) };
    }),
  };
}
