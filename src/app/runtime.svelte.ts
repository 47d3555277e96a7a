/**
 * Starts the networked services once an identity exists: signaling, peer links, the holder side
 * and partnerships. Kept apart from the composition root so the UI can show what is running.
 */
import type { IDBPDatabase } from 'idb';
import type { BackpactDB } from '../store/db.ts';
import { IdbHolderStore } from '../store/holder-store.ts';
import { BackupServices } from './backup-services.ts';
import { auditSummaries, type AuditSummary } from './audits.ts';
import { installAuditBridge } from './audit-bridge.ts';
import { AuditRelayResponder } from './audit-relay.ts';
import { HealthService } from './health.svelte.ts';
import { HolderService } from './holder.ts';
import type { LocalIdentity } from './identity.ts';
import { AppNetwork } from './network.ts';
import { PartnershipService } from './partnerships.svelte.ts';
import { PoolService } from './pool.svelte.ts';

/** The running app services. */
export class Runtime {
  partnerships = $state<PartnershipService | null>(null);
  /** The open pool (opt-in). */
  pool = $state<PoolService | null>(null);
  backup = $state<BackupServices | null>(null);
  /** Warnings to and from partners, and the holder self-check. */
  health = $state<HealthService | null>(null);
  /** Invite fragment captured from the address bar at start (already removed from it). */
  pendingInvite = $state<string | null>(null);
  /** Audit results per partner (refreshed when the service worker records new ones). */
  audits = $state<AuditSummary[]>([]);
  /** Answer of `navigator.storage.persist()`; null until asked. */
  storagePersisted = $state<boolean | null>(null);
  network: AppNetwork | null = null;
  holder: HolderService | null = null;
  /** Answers audits that owners' service workers send through the relay. */
  auditRelay: AuditRelayResponder | null = null;
  readonly holderStore: IdbHolderStore;

  constructor(private readonly db: IDBPDatabase<BackpactDB>) {
    this.holderStore = new IdbHolderStore(db);
  }

  /** Starts everything for `identity` (once). */
  async startFor(identity: LocalIdentity): Promise<void> {
    if (this.network) return;
    const network = new AppNetwork(identity);
    this.network = network;
    const holder = new HolderService(this.holderStore, this.db, (tag, m) => identity.signTagged(tag, m));
    this.holder = holder;
    const partnerships = new PartnershipService(identity, network, this.db, this.holderStore);
    network.route(partnerships);
    const pool = new PoolService(identity, network, this.db, partnerships);
    network.route(pool);
    network.route({ serves: (t) => t.startsWith('shard.') || t.startsWith('root.') || t === 'audit.challenge', handle: (from, req, incoming) => holder.handle(from, req, incoming) });
    this.auditRelay = new AuditRelayResponder({
      signaling: network.signaling,
      identity: { publicKey: identity.publicKey, sign: (m) => identity.signRaw(m) },
      hasAgreement: async (owner) => (await this.holderStore.usage(owner.peerId)).allowed !== null,
      answer: (owner, req) => holder.answerAudit(owner, req),
    });
    this.auditRelay.start();
    const health = new HealthService(identity, network, this.db, partnerships);
    network.route(health);
    network.start();
    await partnerships.start();
    this.partnerships = partnerships;
    await health.start();
    this.health = health;
    await pool.start();
    this.pool = pool;
    this.backup = new BackupServices(identity, network, partnerships, this.db);
    void this.requestPersistence();
    installAuditBridge(() => this.network, () => void this.refreshAudits().then(() => this.health?.refresh()));
    void this.refreshAudits();
  }

  /** Reloads the audit results shown in the app. */
  async refreshAudits(): Promise<void> {
    this.audits = await auditSummaries(this.db);
    // A partner found failing or dropped: move what it held for us.
    void this.backup?.repair.check();
  }

  /**
   * Asks the browser to keep this origin's storage under pressure: partners' shards must not be
   * evicted silently. The answer is shown in the app.
   */
  async requestPersistence(): Promise<void> {
    if (!navigator.storage?.persist) return;
    this.storagePersisted = (await navigator.storage.persisted()) || (await navigator.storage.persist());
  }
}

/** Takes an invite fragment out of the address bar at once, so the secret is not left visible. */
export function takeInviteFragment(): string | null {
  const m = /^#invite=(.+)$/.exec(location.hash);
  if (!m) return null;
  history.replaceState(null, '', location.pathname + location.search);
  return decodeURIComponent(m[1]!);
}
