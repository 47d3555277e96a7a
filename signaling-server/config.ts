/**
 * Server configuration, read once from environment variables. Every setting has a default that
 * works for a local run (`npm start`); docs/DESIGN.md §5 lists the variables.
 */
import { resolve } from 'node:path';
import {
  MAILBOX_TTL_S,
  MAX_CONNECTIONS_PER_IP,
  RATE_MESSAGES_BURST,
  RATE_MESSAGES_PER_S,
  RATE_RELAYS_BURST,
  RATE_RELAYS_PER_S,
  AUTH_TIMEOUT_MS,
  TURN_TTL_S,
} from './constants.ts';

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
  /**
   * Hosts (URL authority, e.g. `backup.example.org`) that clients may name in their signed
   * authentication. Empty: the request's `Host` header, which is right unless a proxy rewrites it.
   */
  publicHosts: string[];
  /** Simultaneous sockets allowed from one IP address. */
  maxConnectionsPerIp: number;
  /**
   * Take the client IP from the last `X-Forwarded-For` entry, the one a trusted proxy appended
   * (only behind such a proxy: anyone else could forge it).
   */
  trustProxy: boolean;
  /** Milliseconds a socket may stay unauthenticated. */
  authTimeoutMs: number;
  /** Sustained messages per second per socket (token bucket refill). */
  messagesPerS: number;
  /** Messages a socket may send in a burst (token bucket size). */
  messagesBurst: number;
  /** Sustained relays and mailbox posts per second per socket. */
  relaysPerS: number;
  /** Relays and mailbox posts a socket may send in a burst. */
  relaysBurst: number;
  /** Default and longest invite mailbox lifetime, seconds (72 h). */
  mailboxTtlS: number;
  /** STUN server URLs handed to clients (`stun:host:port`). */
  stunUrls: string[];
  /** TURN server URLs handed to clients (`turn:host:port?transport=udp`, `turns:…`). */
  turnUrls: string[];
  /** coturn `static-auth-secret`; TURN entries are only given out when set. Never logged. */
  turnSecret: string;
  /** Lifetime of TURN credentials, seconds. */
  turnTtlS: number;
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

function listVar(env: NodeJS.ProcessEnv, name: string): string[] {
  return (env[name] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

function urlList(env: NodeJS.ProcessEnv, name: string, schemes: readonly string[]): string[] {
  const urls = listVar(env, name);
  for (const u of urls) {
    const scheme = u.split(':', 1)[0]!.toLowerCase();
    if (!schemes.includes(scheme) || u.length > 512) {
      throw new ConfigError(`${name} entries must start with ${schemes.map((s) => `${s}:`).join(' or ')}, got "${u}"`);
    }
  }
  return urls;
}

function boolVar(env: NodeJS.ProcessEnv, name: string): boolean {
  const raw = (env[name] ?? '').trim().toLowerCase();
  if (raw === '' || raw === '0' || raw === 'false' || raw === 'no') return false;
  if (raw === '1' || raw === 'true' || raw === 'yes') return true;
  throw new ConfigError(`${name} must be 1 or 0, got "${env[name]}"`);
}

/** Reads the configuration from `env`; throws {@link ConfigError} on a bad value. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const level = env.LOG_LEVEL ?? 'info';
  if (!['debug', 'info', 'warn', 'error'].includes(level)) {
    throw new ConfigError(`LOG_LEVEL must be one of debug, info, warn, error, got "${level}"`);
  }
  const turnUrls = urlList(env, 'TURN_URLS', ['turn', 'turns']);
  const turnSecret = env.TURN_SECRET ?? '';
  if (turnUrls.length > 0 && turnSecret === '') {
    throw new ConfigError('TURN_URLS is set but TURN_SECRET is empty: clients could not authenticate to TURN');
  }
  return {
    host: env.HOST || '127.0.0.1',
    port: intVar(env, 'PORT', 8787, 0, 65535),
    staticDir: env.STATIC_DIR === '' ? '' : resolve(env.STATIC_DIR ?? 'dist'),
    allowedOrigins: listVar(env, 'ALLOWED_ORIGINS'),
    maxPayload: intVar(env, 'MAX_PAYLOAD', 64 * 1024, 1024, 1024 * 1024),
    pingIntervalMs: intVar(env, 'PING_INTERVAL_MS', 30_000, 100, 3_600_000),
    logLevel: level as ServerConfig['logLevel'],
    publicHosts: listVar(env, 'PUBLIC_HOSTS').map((h) => h.toLowerCase()),
    maxConnectionsPerIp: intVar(env, 'MAX_CONNECTIONS_PER_IP', MAX_CONNECTIONS_PER_IP, 1, 1_000_000),
    trustProxy: boolVar(env, 'TRUST_PROXY'),
    authTimeoutMs: intVar(env, 'AUTH_TIMEOUT_MS', AUTH_TIMEOUT_MS, 100, 600_000),
    messagesPerS: intVar(env, 'RATE_MESSAGES_PER_S', RATE_MESSAGES_PER_S, 1, 1_000_000),
    messagesBurst: intVar(env, 'RATE_MESSAGES_BURST', RATE_MESSAGES_BURST, 1, 10_000_000),
    relaysPerS: intVar(env, 'RATE_RELAYS_PER_S', RATE_RELAYS_PER_S, 1, 1_000_000),
    relaysBurst: intVar(env, 'RATE_RELAYS_BURST', RATE_RELAYS_BURST, 1, 10_000_000),
    mailboxTtlS: intVar(env, 'MAILBOX_TTL_S', MAILBOX_TTL_S, 60, 365 * 86_400),
    stunUrls: urlList(env, 'STUN_URLS', ['stun', 'stuns']),
    turnUrls,
    turnSecret,
    turnTtlS: intVar(env, 'TURN_TTL', TURN_TTL_S, 60, 30 * 86_400),
  };
}
