/**
 * The Backpact server: serves the built PWA, answers `/healthz`, `/metrics` and `/config`, and
 * accepts WebSockets on `/ws` for signaling (see signaling.ts). It never holds backup data and
 * never reads relayed payloads.
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { isSignalingId } from '../src/protocol/signaling.ts';
import type { ServerConfig } from './config.ts';
import { MAILBOX_SWEEP_INTERVAL_MS, UPTIME_SWEEP_INTERVAL_MS } from './constants.ts';
import { iceServersFor } from './ice.ts';
import type { Logger } from './log.ts';
import { Metrics } from './metrics.ts';
import { SignalingService, type Clocks } from './signaling.ts';
import { serveStatic } from './static.ts';

/** A running server. */
export interface RunningServer {
  /** Base URL of the app, e.g. `http://127.0.0.1:8787/`. */
  url: string;
  /** The signaling WebSocket URL, e.g. `ws://127.0.0.1:8787/ws`. */
  wsUrl: string;
  /** The TCP port it listens on (the chosen one when configured with 0). */
  port: number;
  /** The signaling state, for tests and metrics. */
  signaling: SignalingService;
  /** Stops accepting, closes every socket, and resolves when the server has stopped. */
  close(): Promise<void>;
}

/** Optional dependencies of {@link startServer}; tests inject clocks. */
export interface ServerOptions {
  clocks?: Partial<Clocks>;
}

interface Liveness {
  alive: boolean;
}

function originAllowed(config: ServerConfig, req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  // Non-browser clients (tests, tools) send no Origin; browsers always do.
  if (origin === undefined) return true;
  if (config.allowedOrigins.length > 0) return config.allowedOrigins.includes(origin);
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

function rejectUpgrade(socket: Duplex, status: number, text: string): void {
  socket.on('error', () => {});
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/**
 * The client's IP address. Behind a trusted proxy (`TRUST_PROXY=1`) it is the *last*
 * `X-Forwarded-For` entry — the one the proxy appended; entries to its left are whatever the
 * client sent and could be forged to dodge the per-IP cap or pick a network token. A value that
 * is not an IP address is ignored.
 */
export function clientIp(config: Pick<ServerConfig, 'trustProxy'>, req: Pick<IncomingMessage, 'headers' | 'socket'>): string {
  if (config.trustProxy) {
    const forwarded = req.headers['x-forwarded-for'];
    const joined = Array.isArray(forwarded) ? forwarded.join(',') : forwarded;
    const last = joined?.split(',').pop()?.trim();
    if (last && isIP(last)) return last;
  }
  return req.socket.remoteAddress ?? 'unknown';
}

/** Starts the server with `config`; resolves once it listens. */
export async function startServer(config: ServerConfig, logger: Logger, options: ServerOptions = {}): Promise<RunningServer> {
  const clocks: Clocks = {
    now: options.clocks?.now ?? (() => Date.now()),
    monotonic: options.clocks?.monotonic ?? options.clocks?.now ?? (() => performance.now()),
  };
  const wss = new WebSocketServer({ noServer: true, maxPayload: config.maxPayload, perMessageDeflate: false });
  const live = new WeakMap<WebSocket, Liveness>();
  const signaling = new SignalingService(config, clocks, logger);
  const perIp = new Map<string, number>();
  let closing = false;

  const http = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    void handleHttp(req, res).catch((err: unknown) => {
      logger.log('error', 'http handler failed', { err: String(err) });
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });

  async function handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const [path = '/', query = ''] = (req.url ?? '/').split('?');
    if (path === '/healthz') {
      const g = signaling.gauges();
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      res.end(JSON.stringify({ ok: true, sockets: g.sockets, authenticated: g.authenticated, uptimeS: Math.round(process.uptime()) }));
      return;
    }
    if (path === '/metrics') {
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(signaling.metrics.render(signaling.gauges()));
      return;
    }
    if (path === '/config') {
      // Over HTTP the caller is anonymous unless it names its id (it gains nothing by lying: the
      // id only labels the TURN allocation). Authenticated sockets get theirs in `welcome`.
      const id = new URLSearchParams(query).get('id');
      const servers = iceServersFor(config, isSignalingId(id) ? id : 'anonymous', clocks.now());
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      res.end(JSON.stringify({ iceServers: servers }));
      return;
    }
    if (config.staticDir && (await serveStatic(config.staticDir, req, res))) return;
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end('Not found\n');
  }

  http.on('upgrade', (req, socket, head) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/ws') return rejectUpgrade(socket, 404, 'Not Found');
    if (closing) return rejectUpgrade(socket, 503, 'Service Unavailable');
    if (!originAllowed(config, req)) {
      Metrics.inc(signaling.metrics.refused, 'origin');
      logger.log('warn', 'websocket origin refused', { origin: req.headers.origin });
      return rejectUpgrade(socket, 403, 'Forbidden');
    }
    const ip = clientIp(config, req);
    const count = perIp.get(ip) ?? 0;
    if (count >= config.maxConnectionsPerIp) {
      Metrics.inc(signaling.metrics.refused, 'ip-cap');
      return rejectUpgrade(socket, 429, 'Too Many Requests');
    }
    perIp.set(ip, count + 1);
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      const n = (perIp.get(ip) ?? 1) - 1;
      if (n <= 0) perIp.delete(ip);
      else perIp.set(ip, n);
    };
    // If the handshake fails the socket just closes: the slot must be given back either way.
    socket.once('close', release);
    wss.handleUpgrade(req, socket, head, (ws) => {
      const hosts = config.publicHosts.length > 0 ? config.publicHosts : [req.headers.host ?? ''];
      wss.emit('connection', ws, req, hosts, ip);
    });
  });

  wss.on('connection', (ws: WebSocket, _req: IncomingMessage, hosts: string[], ip: string) => {
    live.set(ws, { alive: true });
    // An unhandled 'error' event would crash the process: every socket gets a listener.
    ws.on('error', (err) => logger.log('debug', 'socket error', { err: err.message }));
    ws.on('pong', () => {
      const l = live.get(ws);
      if (l) l.alive = true;
    });
    signaling.accept(ws, hosts, ip);
  });

  // Liveness: each socket is pinged once per interval, a slice of them per tick, so 10,000
  // sockets never cost one long burst of pings and pongs (which showed up as tail latency).
  const PING_SLICES = 10;
  let sweep: Iterator<WebSocket> = wss.clients.values();
  const pinger = setInterval(() => {
    const quota = Math.ceil(wss.clients.size / PING_SLICES);
    for (let n = 0; n < quota; n++) {
      let step = sweep.next();
      if (step.done) {
        sweep = wss.clients.values();
        step = sweep.next();
        if (step.done) return;
      }
      const ws = step.value;
      const l = live.get(ws);
      if (!l || !l.alive) {
        ws.terminate();
        continue;
      }
      l.alive = false;
      ws.ping();
    }
  }, Math.max(10, Math.floor(config.pingIntervalMs / PING_SLICES)));
  pinger.unref();
  const sweeper = setInterval(() => signaling.sweep(), MAILBOX_SWEEP_INTERVAL_MS);
  sweeper.unref();
  const uptimeSweeper = setInterval(() => signaling.sweepUptime(), UPTIME_SWEEP_INTERVAL_MS);
  uptimeSweeper.unref();

  http.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
  });

  await new Promise<void>((resolveListen, rejectListen) => {
    http.once('error', rejectListen);
    http.listen(config.port, config.host, () => {
      http.off('error', rejectListen);
      resolveListen();
    });
  });
  const port = (http.address() as AddressInfo).port;
  const hostForUrl = config.host.includes(':') ? `[${config.host}]` : config.host;
  const authority = `${hostForUrl === '0.0.0.0' || hostForUrl === '[::]' ? '127.0.0.1' : hostForUrl}:${port}`;

  return {
    url: `http://${authority}/`,
    wsUrl: `ws://${authority}/ws`,
    port,
    signaling,
    async close() {
      closing = true;
      clearInterval(pinger);
      clearInterval(sweeper);
      clearInterval(uptimeSweeper);
      signaling.closeAll();
      // Clients normally answer the close frame at once; one that doesn't must not hold up a
      // Ctrl-C for ws's 30 s closing timeout.
      const wssClosed = new Promise<void>((r) => wss.close(() => r()));
      const force = setTimeout(() => {
        for (const ws of wss.clients) ws.terminate();
      }, 1000);
      await wssClosed;
      clearTimeout(force);
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}
