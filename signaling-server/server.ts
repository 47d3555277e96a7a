/**
 * The Backpact server: serves the built PWA, answers `/healthz`, and accepts WebSockets on `/ws`
 * for signaling. It never holds backup data and never reads relayed payloads.
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ServerConfig } from './config.ts';
import type { Logger } from './log.ts';
import { serveStatic } from './static.ts';

/** A running server. */
export interface RunningServer {
  /** Base URL of the app, e.g. `http://127.0.0.1:8787/`. */
  url: string;
  port: number;
  /** Stops accepting, closes every socket, and resolves when the server has stopped. */
  close(): Promise<void>;
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

/** Starts the server with `config`; resolves once it listens. */
export async function startServer(config: ServerConfig, logger: Logger): Promise<RunningServer> {
  const wss = new WebSocketServer({ noServer: true, maxPayload: config.maxPayload, perMessageDeflate: false });
  const live = new WeakMap<WebSocket, Liveness>();

  const http = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    void handleHttp(req, res).catch((err: unknown) => {
      logger.log('error', 'http handler failed', { err: String(err) });
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });

  async function handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      res.end(JSON.stringify({ ok: true, sockets: wss.clients.size, uptimeS: Math.round(process.uptime()) }));
      return;
    }
    if (config.staticDir && (await serveStatic(config.staticDir, req, res))) return;
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end('Not found\n');
  }

  http.on('upgrade', (req, socket, head) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/ws') return rejectUpgrade(socket, 404, 'Not Found');
    if (!originAllowed(config, req)) {
      logger.log('warn', 'websocket origin refused', { origin: req.headers.origin });
      return rejectUpgrade(socket, 403, 'Forbidden');
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  wss.on('connection', (ws: WebSocket) => {
    live.set(ws, { alive: true });
    // An unhandled 'error' event would crash the process: every socket gets a listener.
    ws.on('error', (err) => logger.log('debug', 'socket error', { err: err.message }));
    ws.on('pong', () => {
      const l = live.get(ws);
      if (l) l.alive = true;
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        ws.close(1003, 'binary frames are not accepted');
        return;
      }
      ws.send(JSON.stringify({ type: 'error', code: 'unsupported', message: 'signaling is not available yet' }));
      void data;
    });
  });

  const pinger = setInterval(() => {
    for (const ws of wss.clients) {
      const l = live.get(ws);
      if (!l || !l.alive) {
        ws.terminate();
        continue;
      }
      l.alive = false;
      ws.ping();
    }
  }, config.pingIntervalMs);
  pinger.unref();

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
  const url = `http://${hostForUrl === '0.0.0.0' ? '127.0.0.1' : hostForUrl}:${port}/`;

  return {
    url,
    port,
    async close() {
      clearInterval(pinger);
      for (const ws of wss.clients) ws.close(1001, 'server shutting down');
      await new Promise<void>((r) => wss.close(() => r()));
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}
