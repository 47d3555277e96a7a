/**
 * ICE servers for clients: STUN and TURN URLs from the environment, with coturn-style
 * time-limited TURN credentials (the "TURN REST API" of coturn's `use-auth-secret`):
 * `username = "<expiry unix seconds>:<id>"`, `credential = base64(HMAC-SHA1(secret, username))`.
 * The shared secret never leaves the server.
 */
import { createHmac } from 'node:crypto';
import type { IceServer } from '../src/protocol/signaling.ts';
import type { ServerConfig } from './config.ts';

/** The coturn REST credential for `username`. */
export function turnCredential(secret: string, username: string): string {
  return createHmac('sha1', secret).update(username).digest('base64');
}

/**
 * ICE servers to hand to a client. `id` names the user in the TURN username (an authenticated
 * signaling id over the socket, or an anonymous label over HTTP); `nowMs` is the current time.
 * Returns an empty list when nothing is configured (peers on one network need no ICE servers).
 */
export function iceServersFor(config: Pick<ServerConfig, 'stunUrls' | 'turnUrls' | 'turnSecret' | 'turnTtlS'>, id: string, nowMs: number): IceServer[] {
  const servers: IceServer[] = [];
  if (config.stunUrls.length > 0) servers.push({ urls: [...config.stunUrls] });
  if (config.turnUrls.length > 0 && config.turnSecret !== '') {
    const username = `${Math.floor(nowMs / 1000) + config.turnTtlS}:${id}`;
    servers.push({ urls: [...config.turnUrls], username, credential: turnCredential(config.turnSecret, username) });
  }
  return servers;
}
