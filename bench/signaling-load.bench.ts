/**
 * Load on the real signaling server (its own process, one core, exactly as `npm start` runs it):
 * N authenticated sockets in mutually subscribed pairs, relaying small end-to-end payloads.
 *
 * - `signaling-load`: an open-loop offered rate (default 20,000 relays/s) for 10 s; value =
 *   relays delivered per second; extras: latency p50/p99 (send → delivery), server RSS.
 * - `signaling-load-max`: closed loop (each pair keeps messages bouncing) to find the ceiling.
 *
 * `npm run bench` uses N = 1,000. For the 10,000-socket target run it directly:
 * `SIGNALING_LOAD_SOCKETS=10000 node --import tsx bench/signaling-load.bench.ts`.
 * The load generator shares the machine (2 cores): the numbers are a lower bound for the server.
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { WebSocket } from 'ws';
import { authTranscript } from '../src/protocol/auth.ts';
import { toBase64Url } from '../src/protocol/encoding.ts';
import type { DeviceId } from '../src/protocol/signaling.ts';
import { emit } from './lib.ts';

const SOCKETS = Number(process.env.SIGNALING_LOAD_SOCKETS ?? 1000);
const OFFERED_PER_S = Number(process.env.SIGNALING_LOAD_RATE ?? 20_000);
const MEASURE_MS = 10_000;
const SATURATE_MS = 5_000;
const ROOT = resolve(import.meta.dirname, '..');

// The server's per-socket relay budget (default 5/s) is policy, not capacity: with few sockets
// carrying the whole offered load it is raised, and the output says so.
const perSocket = OFFERED_PER_S / SOCKETS;
const raiseLimits = perSocket > 4;
const child = spawn(process.execPath, ['--import', 'tsx', resolve(ROOT, 'signaling-server/main.ts')], {
  cwd: ROOT,
  env: {
    ...process.env,
    PORT: '0',
    HOST: '127.0.0.1',
    STATIC_DIR: '',
    LOG_LEVEL: 'error',
    MAX_CONNECTIONS_PER_IP: String(SOCKETS + 100),
    ...(raiseLimits ? { RATE_RELAYS_PER_S: '100000', RATE_RELAYS_BURST: '100000', RATE_MESSAGES_PER_S: '100000', RATE_MESSAGES_BURST: '100000' } : {}),
  },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const url = await new Promise<string>((resolveUrl, reject) => {
  createInterface({ input: child.stdout! }).on('line', (l) => {
    const m = /^Backpact is running at (\S+)/.exec(l);
    if (m) resolveUrl(m[1]!);
  });
  child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
});
const wsUrl = url.replace(/^http/, 'ws') + 'ws';
const host = new URL(wsUrl).host;

interface Client {
  ws: WebSocket;
  id: string;
  device: DeviceId;
  key: KeyObject;
  partner: number;
}

const clients: Client[] = [];
for (let i = 0; i < SOCKETS; i++) {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const device = toBase64Url(crypto.getRandomValues(new Uint8Array(16))) as DeviceId;
  clients.push({ ws: null as unknown as WebSocket, id: publicKey.export({ format: 'jwk' }).x!, device, key: privateKey, partner: i ^ 1 });
}

// Latencies of the current phase (ms), and a switch for what a delivery triggers.
let latencies = new Float64Array(4_000_000);
let count = 0;
let bounce = false;
let errors = 0;

function payload(): string {
  const b = Buffer.allocUnsafe(8);
  b.writeDoubleLE(performance.now());
  return b.toString('base64url');
}

function relay(c: Client): void {
  c.ws.send(`{"type":"relay","to":"${clients[c.partner]!.id}","data":"${payload()}"}`);
}

async function connect(i: number): Promise<void> {
  const c = clients[i]!;
  const ws = new WebSocket(wsUrl, { perMessageDeflate: false });
  c.ws = ws;
  let phase = 0;
  await new Promise<void>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`socket ${i} not authenticated within 30 s`)), 30_000);
    ws.on('error', fail);
    ws.on('message', (raw) => {
      const text = String(raw);
      if (phase === 2) {
        if (text.startsWith('{"type":"relay"')) {
          const data = JSON.parse(text).data as string;
          const sent = Buffer.from(data, 'base64url').readDoubleLE(0);
          if (count < latencies.length) latencies[count] = performance.now() - sent;
          count++;
          if (bounce) relay(c);
        } else if (text.startsWith('{"type":"error"')) {
          errors++;
        }
        return;
      }
      const m = JSON.parse(text) as { type: string; nonce?: string };
      if (m.type === 'challenge') {
        const sig = sign(null, authTranscript(host, m.nonce!, c.device), c.key);
        ws.send(JSON.stringify({ type: 'auth', v: 1, id: c.id, device: c.device, sig: toBase64Url(sig) }));
      } else if (m.type === 'welcome') {
        phase = 1;
        ws.send(JSON.stringify({ type: 'subscribe', ids: [clients[c.partner]!.id] }));
        clearTimeout(timer);
        done();
      } else if (m.type === 'error') {
        fail(new Error(text));
      }
    });
  });
  // From here on only relays, presence and errors arrive.
  phase = 2;
}

const t0 = performance.now();
for (let i = 0; i < SOCKETS; i += 200) {
  await Promise.all(Array.from({ length: Math.min(200, SOCKETS - i) }, (_, j) => connect(i + j)));
}
const connectMs = performance.now() - t0;
process.stderr.write(`# ${SOCKETS} sockets authenticated in ${Math.round(connectMs)} ms\n`);
// Presence between all pairs settles within a round trip; give it one.
await new Promise((r) => setTimeout(r, 500));

/** Offers `rate` relays per second for `ms`, round-robin over sockets; returns the achieved offer. */
async function openLoop(rate: number, ms: number): Promise<number> {
  const tickMs = 5;
  let next = 0;
  let sent = 0;
  const start = performance.now();
  while (performance.now() - start < ms) {
    const due = Math.floor(((performance.now() - start) / 1000) * rate);
    for (; sent < due; sent++) {
      relay(clients[next]!);
      next = (next + 1) % SOCKETS;
    }
    await new Promise((r) => setTimeout(r, tickMs));
  }
  return sent / (ms / 1000);
}

function percentile(xs: Float64Array, n: number, p: number): number {
  const sorted = Float64Array.from(xs.subarray(0, Math.min(n, xs.length))).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** Server RSS and its event-loop delay p99 since the previous scrape (from /metrics). */
async function serverStats(): Promise<{ rssMB: number; loopP99Ms: number }> {
  const text = await (await fetch(new URL('/metrics', url))).text();
  const rss = /^process_resident_memory_bytes (\d+)/m.exec(text);
  const loop = /^nodejs_eventloop_delay_seconds\{quantile="0.99"\} (\S+)/m.exec(text);
  return { rssMB: rss ? Math.round(Number(rss[1]) / 1e6) : NaN, loopP99Ms: loop ? Math.round(Number(loop[1]) * 1e4) / 10 : NaN };
}

// The generator's own event-loop delay: a late timer or handler here also shows as latency.
const clientLoop = monitorEventLoopDelay({ resolution: 5 });
clientLoop.enable();

async function settle(): Promise<void> {
  // Let in-flight messages land so the next phase starts clean.
  let last = -1;
  while (last !== count) {
    last = count;
    await new Promise((r) => setTimeout(r, 200));
  }
}

try {
  await openLoop(OFFERED_PER_S, 2_000); // warm-up
  await settle();
  count = 0;
  await serverStats();
  clientLoop.reset();
  const tStart = performance.now();
  const offered = await openLoop(OFFERED_PER_S, MEASURE_MS);
  const delivered = count / ((performance.now() - tStart) / 1000);
  const p50 = percentile(latencies, count, 50);
  const p99 = percentile(latencies, count, 99);
  const server = await serverStats();
  const clientLoopP99Ms = Math.round(clientLoop.percentile(99) / 1e5) / 10;
  await settle();
  emit({
    bench: 'signaling-load',
    value: Math.round(delivered),
    unit: 'msg/s',
    sockets: SOCKETS,
    offered: Math.round(offered),
    p50Ms: Math.round(p50 * 10) / 10,
    p99Ms: Math.round(p99 * 10) / 10,
    rssMB: server.rssMB,
    serverLoopP99Ms: server.loopP99Ms,
    clientLoopP99Ms,
    connectMs: Math.round(connectMs),
    errors,
    rateLimitsRaised: raiseLimits,
  });

  // Closed loop: 8 messages bouncing per pair, to find the ceiling.
  latencies = new Float64Array(4_000_000);
  count = 0;
  bounce = true;
  const satStart = performance.now();
  for (let i = 0; i < SOCKETS; i += 2) for (let k = 0; k < 8; k++) relay(clients[i]!);
  await new Promise((r) => setTimeout(r, SATURATE_MS));
  const max = count / ((performance.now() - satStart) / 1000);
  bounce = false;
  emit({
    bench: 'signaling-load-max',
    value: Math.round(max),
    unit: 'msg/s',
    sockets: SOCKETS,
    p50Ms: Math.round(percentile(latencies, count, 50) * 10) / 10,
    p99Ms: Math.round(percentile(latencies, count, 99) * 10) / 10,
    rssMB: (await serverStats()).rssMB,
  });
} finally {
  for (const c of clients) c.ws?.terminate();
  child.kill('SIGINT');
  await new Promise((r) => child.once('exit', r));
}
