/**
 * Test helpers for the signaling server: a bare protocol client on a real socket, with keys
 * from node:crypto, and a config for a server on a free port. Used by the server's tests and by
 * the signaling load benchmark; not used by the server itself.
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { WebSocket } from 'ws';
import { authTranscript } from '../src/protocol/auth.ts';
import { toBase64Url } from '../src/protocol/encoding.ts';
import {
  SIGNALING_VERSION,
  decodeServerMessage,
  type ChallengeMessage,
  type DeviceId,
  type PeerAddress,
  type SignalingId,
  type ServerMessage,
  type WelcomeMessage,
} from '../src/protocol/signaling.ts';
import { loadConfig, type ServerConfig } from './config.ts';
import type { Logger } from './log.ts';

/** A config for tests: free port on 127.0.0.1, no static app, quiet. */
export function testConfig(overrides: Partial<ServerConfig> = {}): ServerConfig {
  return { ...loadConfig({}), port: 0, host: '127.0.0.1', staticDir: '', logLevel: 'error', ...overrides };
}

/** A logger that drops everything (or collects lines when given an array). */
export function silentLogger(into?: string[]): Logger {
  return { log: (level, msg, fields) => into?.push(JSON.stringify({ level, msg, ...fields })) };
}

/** An Ed25519 identity for tests. */
export interface TestIdentity {
  id: SignalingId;
  privateKey: KeyObject;
}

/** A fresh Ed25519 identity. */
export function testIdentity(): TestIdentity {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const jwk = publicKey.export({ format: 'jwk' });
  return { id: jwk.x as SignalingId, privateKey };
}

let deviceCounter = 0;
/** A distinct device id (16 bytes). */
export function testDevice(): DeviceId {
  const b = new Uint8Array(16);
  new DataView(b.buffer).setUint32(12, ++deviceCounter);
  b[0] = Math.floor(Math.random() * 256);
  b[1] = Math.floor(Math.random() * 256);
  return toBase64Url(b) as DeviceId;
}

/** Why a socket closed. */
export interface CloseInfo {
  code: number;
  reason: string;
}

/** A protocol client on a real socket that queues what the server sends. */
export class TestClient {
  readonly identity: TestIdentity;
  device: DeviceId;
  readonly closed: Promise<CloseInfo>;
  private readonly queue: ServerMessage[] = [];
  private waiters: (() => void)[] = [];
  /** Frames the client could not decode (a server bug if ever non-empty). */
  readonly undecodable: string[] = [];
  challenge!: ChallengeMessage;
  isClosed = false;
  closeInfo: CloseInfo | undefined;

  private constructor(
    readonly ws: WebSocket,
    identity: TestIdentity | undefined,
  ) {
    this.identity = identity ?? testIdentity();
    this.device = testDevice();
    ws.on('message', (data) => {
      const decoded = decodeServerMessage(String(data));
      if (decoded.ok) this.queue.push(decoded.value);
      else this.undecodable.push(String(data));
      this.wake();
    });
    ws.on('error', () => {});
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => {
        this.isClosed = true;
        this.closeInfo = { code, reason: reason.toString() };
        this.wake();
        resolve(this.closeInfo);
      }),
    );
  }

  /** The client's address once authenticated. */
  get address(): PeerAddress {
    return { id: this.identity.id, device: this.device };
  }

  /** Opens a socket and waits for the server's challenge. */
  static async open(wsUrl: string, opts: { identity?: TestIdentity; headers?: Record<string, string> } = {}): Promise<TestClient> {
    const ws = new WebSocket(wsUrl, { headers: opts.headers ?? {} });
    const client = new TestClient(ws, opts.identity);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
    const first = await client.next();
    if (first.type !== 'challenge') throw new Error(`expected challenge, got ${first.type}`);
    client.challenge = first;
    return client;
  }

  /** Opens and authenticates; resolves with the welcome. */
  static async connect(wsUrl: string, opts: { identity?: TestIdentity } = {}): Promise<TestClient & { welcome: WelcomeMessage }> {
    const c = await TestClient.open(wsUrl, opts);
    const welcome = await c.auth();
    return Object.assign(c, { welcome });
  }

  /** Signs the challenge for `host` (default: the URL's host) and waits for the answer. */
  async auth(opts: { host?: string; rid?: number } = {}): Promise<WelcomeMessage> {
    const host = opts.host ?? new URL(this.ws.url).host;
    this.send(this.authMessage(host, opts.rid));
    const m = await this.next();
    if (m.type !== 'welcome') throw new Error(`auth refused: ${JSON.stringify(m)}`);
    return m;
  }

  /** The `auth` message for `host`, signed with this client's key. */
  authMessage(host: string, rid?: number): Record<string, unknown> {
    const sig = sign(null, authTranscript(host, this.challenge.nonce, this.device), this.identity.privateKey);
    return { type: 'auth', v: SIGNALING_VERSION, id: this.identity.id, device: this.device, sig: toBase64Url(sig), ...(rid === undefined ? {} : { rid }) };
  }

  /** Sends a message object (as JSON) or a raw string/bytes frame. */
  send(msg: unknown): void {
    if (typeof msg === 'string' || msg instanceof Uint8Array) this.ws.send(msg);
    else this.ws.send(JSON.stringify(msg));
  }

  /** Resolves with the next message (optionally the next one matching `match`), skipping others. */
  async next(match?: (m: ServerMessage) => boolean, timeoutMs = 5000): Promise<ServerMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = match ? this.queue.findIndex(match) : this.queue.length > 0 ? 0 : -1;
      if (i >= 0) return this.queue.splice(i, 1)[0]!;
      if (this.isClosed) throw new Error(`socket closed (${JSON.stringify(this.closeInfo)}) while waiting for a message`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for a message; queue: ${JSON.stringify(this.queue)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Messages received and not yet taken by {@link next}. */
  pending(): readonly ServerMessage[] {
    return this.queue;
  }

  /** Drops queued messages. */
  clear(): void {
    this.queue.length = 0;
  }

  close(): void {
    this.ws.close();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
