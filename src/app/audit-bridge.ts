/**
 * The page's part in audits: the service worker decides and judges, the page carries challenges
 * over its bound links (workers cannot hold WebRTC connections), ticks the worker's schedule while
 * open, and registers the periodic background sync where the browser offers it.
 */
import { signalingIdOf } from '../p2p/identity.ts';
import type { AppNetwork } from './network.ts';

/** Tag shared with the service worker. */
export const AUDIT_SYNC_TAG = 'backpact-audit';
/** How often an open page ticks the audit schedule. */
export const AUDIT_TICK_MS = 5 * 60_000;
/** Minimum interval asked of the periodic background sync. */
export const AUDIT_SYNC_MIN_INTERVAL_MS = 6 * 3600_000;

interface PeriodicSyncManager {
  register(tag: string, options: { minInterval: number }): Promise<void>;
}

/** Connects the page to the worker's audits; `onResults` runs when new results were recorded. */
export function installAuditBridge(network: () => AppNetwork | null, onResults: () => void): void {
  if (!('serviceWorker' in navigator)) return;
  navigator.serviceWorker.addEventListener('message', (event: MessageEvent) => {
    const data = event.data as { type?: string; partnerKey?: Uint8Array; challenge?: Record<string, unknown> } | null;
    if (data?.type === 'audit-results') onResults();
    if (data?.type !== 'audit-deliver' || !data.partnerKey || !data.challenge) return;
    const port = event.ports[0];
    void (async () => {
      let answer: Uint8Array | null = null;
      try {
        const link = network()?.peers.linkTo(signalingIdOf(data.partnerKey!));
        if (link) {
          const res = await link.request(data.challenge as never, { timeoutMs: 30_000 });
          if (res.message.type === 'audit.answer' && res.body) answer = await res.body.bytes(64 * 1024);
        }
      } catch {
        // Unreachable or refused: the worker records it as such (not as a failure).
      }
      port?.postMessage({ answer });
    })();
  });
  const tick = (): void => {
    void navigator.serviceWorker.ready.then((reg) => reg.active?.postMessage({ type: 'audit-tick' }));
  };
  setInterval(tick, AUDIT_TICK_MS);
  tick();
  void navigator.serviceWorker.ready.then(async (reg) => {
    const periodicSync = (reg as ServiceWorkerRegistration & { periodicSync?: PeriodicSyncManager }).periodicSync;
    try {
      await periodicSync?.register(AUDIT_SYNC_TAG, { minInterval: AUDIT_SYNC_MIN_INTERVAL_MS });
    } catch {
      // Not granted (e.g. not installed): the ticks from open pages keep audits going.
    }
  });
}
