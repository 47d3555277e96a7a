/**
 * Harness for the storage adapters: runs the core contract suites against the real IndexedDB
 * adapters in the page, each case on a fresh scratch database.
 */
import { fullDeviceCase, holderStoreContract, type ContractCase } from '../core/holder/holder-store.contract.ts';
import { openBackpactDB } from '../store/db.ts';
import { IdbHolderStore, type StorageEstimator } from '../store/holder-store.ts';

/** Result of one contract case. */
export interface CaseResult {
  name: string;
  ok: boolean;
  error?: string;
}

let scratch = 0;

async function runCase(c: ContractCase, estimate?: StorageEstimator): Promise<CaseResult> {
  const name = `contract-${Date.now()}-${scratch++}`;
  const db = await openBackpactDB(name);
  try {
    await c.run(new IdbHolderStore(db, estimate));
    return { name: c.name, ok: true };
  } catch (err) {
    return { name: c.name, ok: false, error: String(err) };
  } finally {
    db.close();
    indexedDB.deleteDatabase(name);
  }
}

/** Puts `store.runHolderContract()` on the harness. */
export function installStoreHarness(): void {
  globalThis.backpactHarness.store = {
    async runHolderContract(): Promise<CaseResult[]> {
      const results: CaseResult[] = [];
      for (const c of holderStoreContract) results.push(await runCase(c));
      // A device with 1 MiB of quota left over the app's headroom: a 2 KiB put still fits, so
      // simulate a full one by reporting no room at all.
      results.push(await runCase(fullDeviceCase, async () => ({ quota: 1000, usage: 1000 })));
      return results;
    },
  };
}
