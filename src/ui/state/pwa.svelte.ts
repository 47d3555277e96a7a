/**
 * Installability and updates of the PWA: offers the browser's install prompt when it fires
 * `beforeinstallprompt`, and tells the user when a new version is waiting.
 */

/** The non-standard event Chromium fires when the app can be installed. */
export interface BeforeInstallPromptEvent extends Event {
  prompt(): Promise<void>;
  readonly userChoice: Promise<{ outcome: 'accepted' | 'dismissed' }>;
}

/** What the UI needs to know about the PWA's life cycle. */
export class PwaState {
  /** True while the browser allows an install prompt. */
  canInstall = $state(false);
  /** True once a new service worker is waiting to take over. */
  updateAvailable = $state(false);
  /** True once the app shell is cached for offline use. */
  offlineReady = $state(false);
  /** True once the app runs as an installed app. */
  installed = $state(false);

  #deferred: BeforeInstallPromptEvent | null = null;
  #applyUpdate: (() => Promise<void>) | null = null;

  constructor() {
    addEventListener('beforeinstallprompt', (e) => {
      e.preventDefault();
      this.#deferred = e as BeforeInstallPromptEvent;
      this.canInstall = true;
    });
    addEventListener('appinstalled', () => {
      this.installed = true;
      this.canInstall = false;
      this.#deferred = null;
    });
    this.installed = matchMedia('(display-mode: standalone)').matches;
  }

  /** Shows the browser's install dialog. */
  async install(): Promise<void> {
    const e = this.#deferred;
    if (!e) return;
    this.#deferred = null;
    this.canInstall = false;
    await e.prompt();
  }

  /** Called by the service-worker registration when a new version waits. */
  setUpdateHandler(apply: () => Promise<void>): void {
    this.#applyUpdate = apply;
    this.updateAvailable = true;
  }

  /** Activates the waiting service worker and reloads into the new version. */
  async update(): Promise<void> {
    await this.#applyUpdate?.();
  }
}
