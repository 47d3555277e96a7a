/**
 * The UI's view of "who am I on this device": the identity port (implemented in src/app) plus
 * reactive state for components.
 */

/** What the UI shows about the local identity. */
export interface IdentitySummary {
  /** The peer id (derived from the public key). */
  peerId: string;
  /** The name partners see. */
  name: string;
  /** Digits to compare with a partner, e.g. "4821 0937 5512". */
  safetyCode: string;
  /** Whether the recovery phrase is kept on this device (only if the person asked). */
  phraseStored: boolean;
}

/** Identity operations the UI needs; the composition root supplies the implementation. */
export interface IdentityPort {
  /** The identity stored on this device, or null on first run. */
  load(): Promise<IdentitySummary | null>;
  /** A fresh 24-word recovery phrase (not stored anywhere until `create`). */
  newPhrase(): string[];
  /** Derives and stores the identity from a confirmed phrase. */
  create(phrase: string[], name: string, keepPhrase: boolean): Promise<IdentitySummary>;
  /**
   * Restores from a typed phrase. Rejects with an error whose message says what is wrong (which
   * word is unknown, or that the checksum fails) when the phrase is invalid.
   */
  restore(phraseText: string, name: string, keepPhrase: boolean): Promise<IdentitySummary>;
  /** The stored phrase, or null when it was not kept. */
  revealPhrase(): Promise<string[] | null>;
  /** Changes the display name. */
  rename(name: string): Promise<IdentitySummary>;
}

/** Reactive identity state. */
export class IdentityState {
  current = $state<IdentitySummary | null>(null);
  loaded = $state(false);

  constructor(readonly port: IdentityPort) {}

  async load(): Promise<void> {
    this.current = await this.port.load();
    this.loaded = true;
  }

  async create(phrase: string[], name: string, keepPhrase: boolean): Promise<void> {
    this.current = await this.port.create(phrase, name, keepPhrase);
  }

  async restore(phraseText: string, name: string, keepPhrase: boolean): Promise<void> {
    this.current = await this.port.restore(phraseText, name, keepPhrase);
  }

  async rename(name: string): Promise<void> {
    this.current = await this.port.rename(name);
  }
}
