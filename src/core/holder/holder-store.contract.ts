/**
 * The contract every {@link HolderStore} adapter must pass. Plain async checks that throw on
 * failure, so the same suite runs in vitest (in-memory double) and in Chromium against the real
 * IndexedDB adapter (through the e2e harness).
 */
import { DeviceStorageFullError, HolderQuotaExceededError, NoAgreementError } from './errors.ts';
import type { HolderStore } from './holder-store.ts';

/** One contract check. `make` returns a fresh, empty store; `capacity` is its device limit if any. */
export interface ContractCase {
  name: string;
  run(store: HolderStore): Promise<void>;
}

function check(cond: boolean, what: string): void {
  if (!cond) throw new Error(`contract violated: ${what}`);
}

async function rejectsWith(p: Promise<unknown>, cls: abstract new (...args: never[]) => Error, what: string): Promise<void> {
  try {
    await p;
  } catch (err) {
    check(err instanceof cls, `${what}: expected ${cls.name}, got ${String(err)}`);
    return;
  }
  check(false, `${what}: expected ${cls.name}, but it succeeded`);
}

const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill);

/** The cases. */
export const holderStoreContract: ContractCase[] = [
  {
    name: 'stores and returns a shard exactly, and lists it',
    async run(store) {
      await store.setAllowance('alice', 10_000);
      const data = Uint8Array.from({ length: 3000 }, (_, i) => (i * 31) & 0xff);
      await store.put('alice', 's1', data);
      const back = await store.get('alice', 's1');
      check(back !== undefined && back.length === 3000 && back.every((b, i) => b === data[i]), 'bytes round-trip');
      const list = await store.list('alice');
      check(list.length === 1 && list[0]!.shard === 's1' && list[0]!.size === 3000, 'list shows the shard');
      check((await store.usage('alice')).used === 3000, 'usage counts the shard');
    },
  },
  {
    name: 'refuses a write from someone without an agreement, storing nothing',
    async run(store) {
      await rejectsWith(store.put('stranger', 's1', bytes(10)), NoAgreementError, 'no allowance');
      check((await store.get('stranger', 's1')) === undefined, 'nothing stored');
      check((await store.usage('stranger')).used === 0, 'no usage');
    },
  },
  {
    name: 'refuses a write beyond the quota, storing nothing, and keeps what was there',
    async run(store) {
      await store.setAllowance('bob', 1000);
      await store.put('bob', 'a', bytes(600));
      await rejectsWith(store.put('bob', 'b', bytes(401)), HolderQuotaExceededError, 'over quota');
      check((await store.get('bob', 'b')) === undefined, 'refused shard not stored');
      check((await store.usage('bob')).used === 600, 'usage unchanged');
      await store.put('bob', 'b', bytes(400));
      check((await store.usage('bob')).used === 1000, 'exactly at quota is allowed');
    },
  },
  {
    name: 're-putting a shard replaces it and counts it once',
    async run(store) {
      await store.setAllowance('carol', 1000);
      await store.put('carol', 'x', bytes(800, 1));
      await store.put('carol', 'x', bytes(900, 2));
      const back = await store.get('carol', 'x');
      check(back?.length === 900 && back[0] === 2, 'replaced');
      check((await store.usage('carol')).used === 900, 'counted once');
    },
  },
  {
    name: 'owners are isolated: quotas, shards and deletes',
    async run(store) {
      await store.setAllowance('o1', 100);
      await store.setAllowance('o2', 100);
      await store.put('o1', 'same', bytes(100, 1));
      await store.put('o2', 'same', bytes(100, 2));
      check((await store.get('o1', 'same'))?.[0] === 1 && (await store.get('o2', 'same'))?.[0] === 2, 'separate namespaces');
      check(await store.delete('o1', 'same'), 'delete reports existing');
      check(!(await store.delete('o1', 'same')), 'second delete reports missing');
      check((await store.usage('o1')).used === 0 && (await store.usage('o2')).used === 100, 'usage per owner');
    },
  },
  {
    name: 'removing the allowance refuses new writes but keeps held shards (grace period)',
    async run(store) {
      await store.setAllowance('dave', 500);
      await store.put('dave', 'k', bytes(200));
      await store.setAllowance('dave', null);
      await rejectsWith(store.put('dave', 'l', bytes(1)), NoAgreementError, 'ended agreement');
      check((await store.get('dave', 'k'))?.length === 200, 'held shard kept');
      await store.dropOwner('dave');
      check((await store.get('dave', 'k')) === undefined && (await store.list('dave')).length === 0, 'dropOwner deletes all');
    },
  },
];

/** Extra case for adapters that can simulate a full device. */
export const fullDeviceCase: ContractCase = {
  name: 'a full device refuses with DeviceStorageFullError and stores nothing',
  async run(store) {
    await store.setAllowance('erin', 1e12);
    await rejectsWith(store.put('erin', 'huge', bytes(2048)), DeviceStorageFullError, 'device full');
    check((await store.get('erin', 'huge')) === undefined, 'nothing stored');
    check((await store.usage('erin')).used === 0, 'usage unchanged');
  },
};
