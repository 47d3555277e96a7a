/** The IndexedDB adapters pass the same contract suites as their in-memory doubles, in Chromium. */
import { expect, test } from './fixtures.ts';

test('the IndexedDB holder store passes the holder-store contract', async ({ harnessPage }) => {
  const results = await harnessPage.evaluate(() => (globalThis.backpactHarness.store as { runHolderContract(): Promise<{ name: string; ok: boolean; error?: string }[]> }).runHolderContract());
  expect(results.length).toBeGreaterThanOrEqual(7);
  for (const r of results) expect(r, r.name).toEqual({ name: r.name, ok: true });
});
