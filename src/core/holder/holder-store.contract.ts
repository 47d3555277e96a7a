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
  {
    name: 'the self-check walks every shard in (owner, shard) order with the root it came with',
    async run(store) {
      await store.setAllowance('b-owner', 1000);
      await store.setAllowance('a-owner', 1000);
      await store.put('b-owner', 's2', bytes(10, 2), 'ab'.repeat(32));
      await store.put('a-owner', 's9', bytes(10, 9));
      await store.put('b-owner', 's1', bytes(10, 1));
      const seen: string[] = [];
      let after: [string, string] | null = null;
      for (let item = await store.nextForScrub(null); item; item = await store.nextForScrub(after)) {
        seen.push(`${item.owner}/${item.shard}/${item.bytes[0]}/${item.merkleRoot ?? '-'}/${item.rootSource ?? '-'}`);
        after = [item.owner, item.shard];
        check(item.checkedAt === null && item.damagedAt === null, 'not checked yet');
      }
      check(
        seen.join(' ') === `a-owner/s9/9/-/- b-owner/s1/1/-/- b-owner/s2/2/${'ab'.repeat(32)}/owner`,
        `walk order and roots: ${seen.join(' ')}`,
      );
    },
  },
  {
    name: 'a shard the self-check found damaged is not served but still counted; a re-put repairs it',
    async run(store) {
      await store.setAllowance('fay', 1000);
      await store.put('fay', 'd', bytes(100, 3), 'cd'.repeat(32));
      const item = (await store.nextForScrub(null))!;
      check(await store.recordScrub('fay', 'd', item.storedAt, { at: 5000, damaged: true }), 'recorded');
      check((await store.get('fay', 'd')) === undefined, 'damaged shard not served');
      const listed = await store.list('fay');
      check(listed.length === 1 && listed[0]!.damagedAt === 5000, 'listed as damaged');
      check((await store.usage('fay')).used === 100, 'still counted');
      const again = (await store.nextForScrub(null))!;
      check(again.damagedAt === 5000 && again.checkedAt === 5000, 'scrub sees the mark');
      await store.put('fay', 'd', bytes(100, 4), 'ef'.repeat(32));
      check((await store.get('fay', 'd'))?.[0] === 4, 're-put serves the new bytes');
      const fresh = (await store.nextForScrub(null))!;
      check(fresh.damagedAt === null && fresh.checkedAt === null && fresh.merkleRoot === 'ef'.repeat(32), 're-put clears the mark');
      check((await store.list('fay'))[0]!.damagedAt === undefined, 'list no longer shows damage');
    },
  },
  {
    name: 'a scrub outcome is kept only for the bytes read, and a first scrub keeps a baseline root',
    async run(store) {
      await store.setAllowance('gil', 1000);
      await store.put('gil', 'x', bytes(10, 1));
      const read = (await store.nextForScrub(null))!;
      check(await store.recordScrub('gil', 'x', read.storedAt, { at: 10, damaged: false, baselineRoot: '12'.repeat(32) }), 'recorded');
      const based = (await store.nextForScrub(null))!;
      check(based.merkleRoot === '12'.repeat(32) && based.rootSource === 'baseline' && based.checkedAt === 10, 'baseline kept');
      check(!(await store.recordScrub('gil', 'x', read.storedAt + 1, { at: 20, damaged: true })), 'another version is not marked');
      check(!(await store.recordScrub('gil', 'nope', read.storedAt, { at: 20, damaged: true })), 'unknown shard is not recorded');
      check((await store.get('gil', 'x'))?.length === 10, 'still served');
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
