/**
 * Cost of one audit round per partner, for a partner holding 100 MiB and 1 GiB of our shards
 * (4 MiB shards): bytes on the wire (challenge JSON + signed answer) and the partner's CPU time
 * to build the answer (`partnerCpuMs`: read shards, Merkle paths, sign), with c = 16 leaves.
 * The holder side runs the same `buildAnswer` as the app's HolderService over an in-memory store;
 * the owner verifies with `verifyAnswer`. The point: neither number grows with the volume held.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { buildAnswer, cryptoRandomInt, drawChallenge, verifyAnswer, type AuditableShard } from '../src/core/audit/index.ts';
import { signTagged } from '../src/core/keys/identity.ts';
import { leafCount, merkleRoot } from '../src/core/merkle/index.ts';
import { emit } from './lib.ts';

const SHARD = 4 * 1024 * 1024;
const secret = new Uint8Array(32).fill(4);
const holderKey = ed25519.getPublicKey(secret);

async function measure(name: string, totalBytes: number): Promise<void> {
  const count = totalBytes / SHARD;
  const shards = new Map<string, Uint8Array>();
  const roots = new Map<string, Uint8Array>();
  for (let s = 0; s < count; s++) {
    const bytes = new Uint8Array(SHARD);
    const words = new Uint32Array(bytes.buffer);
    for (let i = 0; i < words.length; i += 97) words[i] = Math.imul(i + 1, s + 7) >>> 0;
    const id = s.toString(16).padStart(64, '0');
    shards.set(id, bytes);
    roots.set(id, merkleRoot(bytes));
  }
  const auditable: AuditableShard[] = [...shards.keys()].map((shard) => ({ shard, leaves: leafCount(SHARD) }));
  const rounds = 20;
  let wire = 0;
  let cpu = 0;
  for (let r = 0; r < rounds; r++) {
    const challenge = drawChallenge(auditable, cryptoRandomInt, 16);
    const nonce = crypto.getRandomValues(new Uint8Array(16));
    const request = JSON.stringify({ type: 'audit.challenge', nonce: Buffer.from(nonce).toString('base64url'), items: challenge });
    const t0 = performance.now();
    const answer = await buildAnswer(async (id) => shards.get(id), nonce, challenge, async (tag, m) => signTagged(secret, tag, m));
    cpu += performance.now() - t0;
    const verdict = verifyAnswer(answer, holderKey, nonce, challenge, (id) => ({ root: roots.get(id)!, leaves: leafCount(SHARD) }));
    if (!verdict.ok) throw new Error(`audit failed: ${JSON.stringify(verdict)}`);
    // Frame headers of the link protocol: ~16 bytes per ≤64 KiB frame, a few frames per round.
    wire += request.length + answer.length + 64;
  }
  emit({ bench: name, value: Math.round(wire / rounds), unit: 'bytes', partnerCpuMs: Math.round((cpu / rounds) * 10) / 10, heldMiB: totalBytes / 1024 / 1024, leavesPerRound: 16 });
}

await measure('audit-round-100mib', 100 * 1024 * 1024);
await measure('audit-round-1gib', 1024 * 1024 * 1024);
