import { describe, it } from 'vitest';
import { fullDeviceCase, holderStoreContract } from './holder-store.contract.ts';
import { MemoryHolderStore } from './holder-store.ts';

describe('MemoryHolderStore passes the holder-store contract', () => {
  for (const c of holderStoreContract) it(c.name, () => c.run(new MemoryHolderStore()));
  it(fullDeviceCase.name, () => fullDeviceCase.run(new MemoryHolderStore(1024)));
});
