/**
 * Server configuration, read once from environment variables. Every setting has a default that
 * works for a local run (`npm start`); see the README's "Server configuration" table.
 */
import { resolve } from 'node:path';

/** The server's settings. */
export interface ServerConfig {
  /** Interface to listen on. Default 127.0.0.1 (local only). */
  host: string;
  /** TCP port; 0 picks a free one. Default 8787. */
  port: number;
  /** Folder of the built PWA to serve; empty string serves no app. Default `dist`. */
  staticDir: string;
  /** Origins allowed to open a WebSocket; empty means "same host as the request" only. */
  allowedOrigins: string[];
  /** Largest accepted WebSocket frame in bytes (hardening). */
  maxPayload: number;
  /** Milliseconds between liveness pings; a socket that missed the previous pong is dropped. */
  pingIntervalMs: number;
  /** Minimum log level. */
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

/** Thrown when an environment variable has an invalid value; the message names the variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

function intVar(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return n;
}

/** Reads the configuration from `env`; throws {@link ConfigError} on a bad value. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const level = env.LOG_LEVEL ?? 'info';
  if (!['debug', 'info', 'warn', 'error'].includes(level)) {
    throw new ConfigError(`LOG_LEVEL must be one of debug, info, warn, error, got "${level}"`);
  }
  return {
    host: env.HOST || '127.0.0.1',
    port: intVar(env, 'PORT', 8787, 0, 65535),
    staticDir: env.STATIC_DIR === '' ? '' : resolve(env.STATIC_DIR ?? 'dist'),
    allowedOrigins: (env.ALLOWED_ORIGINS ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    maxPayload: intVar(env, 'MAX_PAYLOAD', 64 * 1024, 1024, 1024 * 1024),
    pingIntervalMs: intVar(env, 'PING_INTERVAL_MS', 30_000, 100, 3_600_000),
    logLevel: level as ServerConfig['logLevel'],
  };
}
