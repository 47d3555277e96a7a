/**
 * The app's connection to the world: one signaling client and one peer network for the local
 * identity, with every incoming partner request routed to the service that owns its type.
 */
import { signalingUrlFor } from './audit-relay.ts';
import { peerIdFromPublicKey } from '../core/keys/identity.ts';
import { MalformedError } from '../core/errors.ts';
import { parsePartnerRequest, REFUSAL, type PartnerRequest } from '../core/partner/messages.ts';
import { RequestRefusedError } from '../p2p/errors.ts';
import { publicKeyOf, type LinkIdentity } from '../p2p/identity.ts';
import type { IncomingRequest, OutgoingResponse, RequestHandler } from '../p2p/link.ts';
import { PeerNetwork } from '../p2p/network.ts';
import { SignalingClient, type SignalingState } from '../p2p/signaling-client.ts';
import type { PeerAddress } from '../protocol/signaling.ts';
import type { LocalIdentity } from './identity.ts';
import type { Requester } from './holder.ts';

/** A service that answers some partner request types. */
export interface RequestRoute {
  /** True when this route serves `type`. */
  serves(type: PartnerRequest['type']): boolean;
  handle(from: Requester & { address: PeerAddress }, req: PartnerRequest, incoming: IncomingRequest): Promise<OutgoingResponse>;
}

/** Signaling URL of this origin's server. */
export function defaultSignalingUrl(): string {
  return signalingUrlFor(location.href);
}

/** Signaling client + peer network, wired to the routes. */
export class AppNetwork {
  readonly signaling: SignalingClient;
  readonly peers: PeerNetwork;
  readonly #routes: RequestRoute[] = [];
  state: SignalingState = 'idle';

  constructor(identity: LocalIdentity, url = defaultSignalingUrl()) {
    const linkIdentity: LinkIdentity = { publicKey: identity.publicKey, sign: (m) => identity.signRaw(m) };
    this.signaling = new SignalingClient({ url, identity: linkIdentity });
    this.signaling.on('state', (s) => (this.state = s));
    this.peers = new PeerNetwork({ signaling: this.signaling, identity: linkIdentity, handler: (peer) => this.#handler(peer) });
  }

  /** Adds a route; the first route serving a type wins. */
  route(r: RequestRoute): void {
    this.#routes.push(r);
  }

  start(): void {
    this.signaling.start();
  }

  /** Resolves once the signaling client is authenticated. */
  ready(): Promise<void> {
    if (this.state === 'ready') return Promise.resolve();
    return new Promise((resolve) => {
      const off = this.signaling.on('ready', () => {
        off();
        resolve();
      });
    });
  }

  #handler(peer: PeerAddress): RequestHandler {
    const publicKey = publicKeyOf(peer.id);
    const from = { address: peer, publicKey, peerId: peerIdFromPublicKey(publicKey) };
    return async (incoming) => {
      let req: PartnerRequest;
      try {
        req = parsePartnerRequest(incoming.message);
      } catch (err) {
        throw new RequestRefusedError(REFUSAL.badRequest, err instanceof MalformedError ? err.message : 'malformed request');
      }
      const route = this.#routes.find((r) => r.serves(req.type));
      if (!route) throw new RequestRefusedError(REFUSAL.badRequest, `nobody serves ${req.type}`);
      return route.handle(from, req, incoming);
    };
  }

  close(): void {
    this.peers.close();
    this.signaling.close();
  }
}
