/**
 * Starts the real Backpact server (`signaling-server/main.ts`, the same entry as `npm start`) as a
 * child process on a free port and waits until it prints its URL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';

/** Where a running server can be reached. */
export interface ServerInfo {
  /** Base URL with trailing slash, e.g. `http://127.0.0.1:41234/`. */
  url: string;
  /** The signaling WebSocket URL (`ws://…/ws`). */
  wsUrl: string;
  port: number;
}

/** A server child process. */
export interface ServerProcess {
  info: ServerInfo;
  /** Lines the server printed (its JSON logs), for assertions and debugging. */
  output: string[];
  process: ChildProcess;
  /** Sends SIGINT (as Ctrl-C does) and resolves with the exit code. */
  stop(): Promise<number | null>;
}

const ROOT = resolve(import.meta.dirname, '..');

/** Starts a server; `env` adds to or overrides the environment (e.g. STATIC_DIR). */
export async function startServerProcess(env: Record<string, string> = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', resolve(ROOT, 'signaling-server/main.ts')], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', STATIC_DIR: resolve(ROOT, 'dist'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  createInterface({ input: child.stderr! }).on('line', (l) => output.push(l));
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output.join('\n')}`)), 30_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      output.push(line);
      const m = /^Backpact is running at (\S+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]!);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${output.join('\n')}`));
    });
  });
  const u = new URL(url);
  return {
    info: { url, wsUrl: `ws://${u.host}/ws`, port: Number(u.port) },
    output,
    process: child,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGINT');
      return exited;
    },
  };
}
