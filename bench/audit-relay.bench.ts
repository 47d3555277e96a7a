/**
 * One audit round through the signaling relay, as the service worker runs it with the app closed:
 * the owner's `RelayAuditTransport` and the partner's `AuditRelayResponder` on two `ws` sockets to
 * the real server in this process, over loopback. Reports the round-trip time (median and p90 of 30
 * rounds after warm-up, including the partner building the answer over a 4 MiB shard), the relayed
 * messages per round, and the bytes on the owner's socket (JSON frames, base64url payloads).
 */
import { randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import { startServer } from '../signaling-server/server.ts';
import { silentLogger, testConfig } from '../signaling-server/testing.ts';
import { AuditRelayResponder, RelayAuditTransport } from '../src/app/audit-relay.ts';
import { buildAnswer, cryptoRandomInt, drawChallenge, verifyAnswer } from '../src/core/audit/index.ts';
import { signTagged } from '../src/core/keys/identity.ts';
import { leafCount, merkleRoot } from '../src/core/merkle/index.ts';
import { identityFromSeed, signalingIdOf } from '../src/p2p/identity.ts';
import { SignalingClient, type WebSocketLike } from '../src/p2p/signaling-client.ts';
import { toBase64Url } from '../src/protocol/encoding.ts';
import { emit } from './lib.ts';

const SHARD = 4 * 1024 * 1024;
const shardId = 'd'.repeat(64);
const shard = Uint8Array.from({ length: SHARD }, (_, i) => (i * 2654435761) >>> 24);
const root = merkleRoot(shard);

// The default per-socket relay rate (5/s, burst 20) allows a partner ~2.5 answers a second (two
// parts each); lifted here so the rounds can run back to back.
const server = await startServer(testConfig({ relaysPerS: 10_000, relaysBurst: 10_000 }), silentLogger());
const ownerSeed = randomBytes(32);
const partnerSeed = randomBytes(32);
const owner = identityFromSeed(ownerSeed);
const partner = identityFromSeed(partnerSeed);

const partnerClient = new SignalingClient({ url: server.wsUrl, identity: partner, createSocket: (u) => new WebSocket(u) as unknown as WebSocketLike });
const responder = new AuditRelayResponder({
  signaling: partnerClient,
  identity: partner,
  hasAgreement: async () => true,
  answer: (_o, req) => buildAnswer(async () => shard, Buffer.from(req.nonce, 'base64url'), req.items, async (tag, m) => signTagged(partnerSeed, tag, m)),
  burst: 1_000,
});
responder.start();
await new Promise<void>((r) => {
  partnerClient.on('ready', () => r());
  partnerClient.start();
});
await partnerClient.subscribe([signalingIdOf(owner.publicKey)]);

let sent = 0;
let received = 0;
const transport = new RelayAuditTransport({
  url: server.wsUrl,
  identity: owner,
  createSocket: (u) => {
    const ws = new WebSocket(u);
    const send = ws.send.bind(ws);
    ws.send = ((data: string) => {
      sent += Buffer.byteLength(data);
      send(data);
    }) as typeof ws.send;
    ws.on('message', (data: Buffer) => (received += data.length));
    return ws as unknown as WebSocketLike;
  },
});

async function round(): Promise<number> {
  const items = drawChallenge([{ shard: shardId, leaves: leafCount(SHARD) }], cryptoRandomInt, 16);
  const nonce = randomBytes(16);
  const t0 = performance.now();
  const answer = await transport.transport(partner.publicKey, { type: 'audit.challenge', nonce: toBase64Url(nonce), items });
  const ms = performance.now() - t0;
  if (!answer || !verifyAnswer(answer, partner.publicKey, nonce, items, () => ({ root, leaves: leafCount(SHARD) })).ok) throw new Error('relay round failed');
  return ms;
}

for (let i = 0; i < 3; i++) await round();
const parts0 = transport.counters.parts;
sent = 0;
received = 0;
const times: number[] = [];
const ROUNDS = 30;
for (let i = 0; i < ROUNDS; i++) times.push(await round());
times.sort((a, b) => a - b);
emit({
  bench: 'audit-relay-round',
  value: Math.round(times[Math.floor(ROUNDS / 2)]! * 10) / 10,
  unit: 'ms',
  p90Ms: Math.round(times[Math.floor(ROUNDS * 0.9)]! * 10) / 10,
  partsPerRound: (transport.counters.parts - parts0) / ROUNDS,
  ownerSentBytes: Math.round(sent / ROUNDS),
  ownerReceivedBytes: Math.round(received / ROUNDS),
});
transport.close();
partnerClient.close();
await server.close();
