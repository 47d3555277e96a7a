/**
 * Periodic backups of remembered folders (docs/DESIGN.md §7.11). A folder picked with the File
 * System Access API is remembered — its directory handle, which the browser lets IndexedDB keep,
 * under `kv['folders/<id>']` — and backed up again on its schedule while the app is open, through
 * the same {@link BackupService} as a manual backup (one run at a time: a due folder waits behind
 * a running backup). A run interrupted by closing the page resumes at the next start: the handle
 * is lasting, so nothing needs picking again, and the journal keeps what was already placed.
 *
 * Permission: the browser may forget the permission to read a folder (typically after a restart)
 * and answer `queryPermission` with 'prompt'. Asking again (`requestPermission`) needs a user
 * gesture, so a due run waits, and the app shows a button that asks ({@link FolderService.ask}).
 */
import type { IDBPDatabase } from 'idb';
import {
  DEFAULT_SCHEDULE, dueAt, nextDue, parseFolderMeta, parseSchedule, timerDelay, timingOf, type FolderMeta, type FolderResult, type FolderSchedule,
} from '../core/backup/schedule.ts';
import type { BackpactDB } from '../store/db.ts';
import type { BackupPartners } from './backup-partners.ts';
import type { BackupService } from './backup.svelte.ts';
import { FolderReadError, itemsFromDirectory, type DirectoryHandle } from './folder-walk.ts';

/** Key prefix of the folder records in the `kv` store. */
export const FOLDER_PREFIX = 'folders/';
/** Web Lock held while a folder runs, so two tabs of the app never run folders at once. */
const RUN_LOCK = 'backpact-folder-runs';
/** A scheduled run waits at most this long after a start for partners to link, ms. */
export const LINK_GRACE_MS = 20_000;

/** What the browser lets the app do with a folder now. */
export type FolderAccess = 'granted' | 'prompt' | 'denied';

/** One remembered folder as the UI shows it. */
export interface FolderView {
  /** The record's id (from its key, also for a damaged record). */
  id: string;
  name: string;
  schedule: FolderSchedule;
  lastRun: number | null;
  lastResult: FolderResult | null;
  access: FolderAccess;
  /** `queued`: due and waiting for the backup in progress; `running`: being backed up. */
  state: 'idle' | 'queued' | 'running';
  /** When the next run is due (ms; not before the scheduler's now). */
  dueAt: number;
  /** A run was cut short by closing the page; it resumes on its own. */
  interrupted: boolean;
  /** Why the stored record cannot be used (it can only be forgotten), or null. */
  damaged: string | null;
}

/** What the dashboard says about the next backup of a folder. */
export type NextFolderRun =
  | { kind: 'running'; id: string; name: string }
  | { kind: 'waiting-permission'; id: string; name: string }
  | { kind: 'at'; id: string; name: string; at: number };

interface Entry {
  id: string;
  meta: FolderMeta | null;
  handle: DirectoryHandle | null;
  access: FolderAccess;
  damaged: string | null;
}

type Picker = (options: { mode: 'read' | 'readwrite' }) => Promise<DirectoryHandle>;

const keyOf = (id: string): string => FOLDER_PREFIX + id;

function isDirectoryHandle(x: unknown): x is DirectoryHandle {
  return typeof x === 'object' && x !== null && (x as { kind?: unknown }).kind === 'directory' && typeof (x as { values?: unknown }).values === 'function';
}

function randomId(): string {
  return [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** True where the browser can pick a folder and keep a handle to it. */
export function canRememberFolders(): boolean {
  return typeof (globalThis as { showDirectoryPicker?: unknown }).showDirectoryPicker === 'function';
}

/** Remembered folders and their schedule. */
export class FolderService {
  folders = $state<FolderView[]>([]);
  /** Checks the scheduler made (each looks at every folder once); tests wait on it. */
  checks = $state(0);
  readonly #entries = new Map<string, Entry>();
  #queue: string[] = [];
  /** Queued by "Back up now": run even if not due. */
  readonly #forced = new Set<string>();
  /** The folder being handled by the queue (from its lock to its result), and whether its backup has started. */
  #current: string | null = null;
  #runStarted = false;
  /** True while the BackupService runs the current folder (so "stop" cancels that run and no other). */
  #backupIsOurs = false;
  #pumping = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #clock: () => number = () => Date.now();
  #started = false;

  constructor(
    private readonly db: IDBPDatabase<BackpactDB>,
    private readonly backup: BackupService,
    private readonly partners: BackupPartners,
  ) {}

  /** The scheduler's time, ms. */
  now(): number {
    return this.#clock();
  }

  /**
   * Replaces the scheduler's clock and checks again at once. For tests and the developer tools:
   * `setClock(() => Date.now() + 86_400_000)` makes a daily folder due without waiting a day.
   */
  setClock(clock: () => number): void {
    this.#clock = clock;
    void this.#check();
  }

  /** Loads the remembered folders and starts the schedule (runs what is due, resumes what was cut short). */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    await this.#load();
    if (typeof document !== 'undefined') {
      // Timers of hidden tabs are throttled or frozen: look again when the page is seen.
      document.addEventListener('visibilitychange', () => {
        if (document.visibilityState === 'visible') void this.#load().then(() => this.#check());
      });
    }
    await this.#check();
  }

  /**
   * Asks for a folder with the browser's picker and remembers it; resolves its id, or null when
   * the person closed the picker. The first run starts at once.
   */
  async pick(): Promise<string | null> {
    const picker = (globalThis as { showDirectoryPicker?: Picker }).showDirectoryPicker;
    if (!picker) throw new Error('This browser cannot remember folders. Choose files or a folder above instead.');
    let handle: DirectoryHandle;
    try {
      handle = await picker({ mode: 'read' });
    } catch (err) {
      if (err instanceof DOMException && err.name === 'AbortError') return null;
      throw err;
    }
    return this.add(handle);
  }

  /** Remembers `handle` with the default schedule; throws when it is remembered already. */
  async add(handle: DirectoryHandle, schedule: FolderSchedule = DEFAULT_SCHEDULE): Promise<string> {
    if (!isDirectoryHandle(handle)) throw new Error('That is not a folder.');
    for (const e of this.#entries.values()) {
      if (e.handle && (await e.handle.isSameEntry(handle).catch(() => false))) throw new Error(`"${handle.name}" is already backed up regularly.`);
    }
    const meta = parseFolderMeta({
      v: 1, id: randomId(), name: handle.name, schedule, addedAt: this.now(), lastRun: null, lastResult: null, failures: 0, lastFailure: null, running: null,
    });
    await this.db.put('kv', { ...meta, handle }, keyOf(meta.id));
    this.#entries.set(meta.id, { id: meta.id, meta, handle, access: await this.#query(handle), damaged: null });
    this.#publish();
    void this.#check();
    return meta.id;
  }

  /** Stops backing up a folder (its snapshots stay); a run of it in progress is cancelled. */
  async forget(id: string): Promise<void> {
    this.#queue = this.#queue.filter((q) => q !== id);
    this.#entries.delete(id);
    await this.db.delete('kv', keyOf(id));
    if (this.#current === id && this.#backupIsOurs) this.backup.cancel();
    this.#publish();
    this.#arm();
  }

  /** Changes how often a folder is backed up. */
  async setSchedule(id: string, schedule: FolderSchedule): Promise<void> {
    const e = this.#entries.get(id);
    if (!e?.meta) return;
    await this.#save(e, { ...e.meta, schedule: parseSchedule(schedule) });
    this.#publish();
    this.#arm();
  }

  /**
   * Asks the browser for permission to read the folder again. Call it straight from a click (the
   * browser shows its prompt only during a user gesture): the request is made before any await.
   */
  ask(id: string): Promise<FolderAccess> {
    const e = this.#entries.get(id);
    if (!e?.handle) return Promise.resolve('denied');
    if (!e.handle.requestPermission) return Promise.resolve(e.access);
    const asked = e.handle.requestPermission({ mode: 'read' });
    return asked.then(
      (state) => {
        e.access = state;
        this.#publish();
        if (state === 'granted') void this.#check();
        return state;
      },
      () => e.access,
    );
  }

  /** Backs a folder up now (after the backup in progress, if any). Call it from a click: it asks for permission if needed. */
  runNow(id: string): Promise<void> {
    const e = this.#entries.get(id);
    if (!e?.meta) return Promise.resolve();
    const allowed = e.access === 'granted' ? Promise.resolve<FolderAccess>('granted') : this.ask(id);
    return allowed.then((state) => {
      if (state !== 'granted') return;
      if (this.#current !== id && !this.#queue.includes(id)) this.#queue.push(id);
      this.#forced.add(id);
      this.#publish();
      return this.#pump();
    });
  }

  /** The next folder backup, for the dashboard: one running, one waiting for permission, or the soonest. */
  get next(): NextFolderRun | null {
    const live = this.folders.filter((f) => !f.damaged && f.access !== 'denied');
    const running = live.find((f) => f.state === 'running');
    if (running) return { kind: 'running', id: running.id, name: running.name };
    let best: FolderView | null = null;
    for (const f of live) if (!best || f.dueAt < best.dueAt) best = f;
    if (!best) return null;
    if (best.access === 'prompt') return { kind: 'waiting-permission', id: best.id, name: best.name };
    return { kind: 'at', id: best.id, name: best.name, at: best.dueAt };
  }

  /** Folders that cannot run until the person allows reading them: asked again ('prompt') or refused ('denied'). */
  get needingPermission(): FolderView[] {
    return this.folders.filter((f) => !f.damaged && f.access !== 'granted');
  }

  // ------------------------------------------------------------------------------------------
  // Storage

  async #load(): Promise<void> {
    const range = IDBKeyRange.bound(FOLDER_PREFIX, `${FOLDER_PREFIX}\uffff`);
    const tx = this.db.transaction('kv');
    const keys = await tx.store.getAllKeys(range);
    const values = await tx.store.getAll(range);
    await tx.done;
    const seen = new Set<string>();
    for (const [i, key] of keys.entries()) {
      const id = String(key).slice(FOLDER_PREFIX.length);
      seen.add(id);
      // Our own run's record is newer in memory than in storage only between two writes: keep it.
      if (id === this.#current) continue;
      this.#entries.set(id, await this.#entryOf(id, values[i]));
    }
    for (const id of [...this.#entries.keys()]) if (!seen.has(id) && id !== this.#current) this.#entries.delete(id);
    this.#publish();
  }

  async #entryOf(id: string, value: unknown): Promise<Entry> {
    try {
      const meta = parseFolderMeta(value);
      if (meta.id !== id) throw new Error('the record is stored under another id');
      const handle = (value as { handle?: unknown }).handle;
      if (!isDirectoryHandle(handle)) throw new Error('the folder handle is missing');
      return { id, meta, handle, access: await this.#query(handle), damaged: null };
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      return { id, meta: null, handle: null, access: 'denied', damaged: `This remembered folder cannot be read back (${reason}). Stop backing it up and choose it again.` };
    }
  }

  async #save(e: Entry, meta: FolderMeta): Promise<void> {
    e.meta = meta;
    // Forgotten meanwhile: do not bring the record back.
    if (!this.#entries.has(e.id)) return;
    await this.db.put('kv', { ...meta, handle: e.handle }, keyOf(e.id));
  }

  async #read(id: string): Promise<FolderMeta | null> {
    const value = await this.db.get('kv', keyOf(id));
    if (value === undefined) return null;
    try {
      return parseFolderMeta(value);
    } catch {
      return null;
    }
  }

  async #query(handle: DirectoryHandle): Promise<FolderAccess> {
    if (!handle.queryPermission) return 'granted';
    try {
      return await handle.queryPermission({ mode: 'read' });
    } catch {
      return 'denied';
    }
  }

  #publish(): void {
    const now = this.now();
    this.folders = [...this.#entries.values()]
      .map((e): FolderView => {
        const m = e.meta;
        return {
          id: e.id,
          name: m?.name ?? 'Unknown folder',
          schedule: m?.schedule ?? DEFAULT_SCHEDULE,
          lastRun: m?.lastRun ?? null,
          lastResult: m?.lastResult ?? null,
          access: e.access,
          state: this.#current === e.id && this.#runStarted ? 'running' : this.#queue.includes(e.id) ? 'queued' : 'idle',
          dueAt: m ? dueAt(timingOf(m), now) : Infinity,
          interrupted: m?.running != null && this.#current !== e.id && !this.#queue.includes(e.id),
          damaged: e.damaged,
        };
      })
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.id < b.id ? -1 : 1));
  }

  // ------------------------------------------------------------------------------------------
  // Schedule

  /** Sets the timer for the folder due first among those the app may read now. */
  #arm(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const now = this.now();
    const ready = [...this.#entries.values()].filter((e) => e.meta && e.access === 'granted' && e.id !== this.#current && !this.#queue.includes(e.id));
    const next = nextDue(ready.map((e) => timingOf(e.meta!)), now);
    if (next) this.#timer = setTimeout(() => void this.#check(), timerDelay(next.at, now));
  }

  /** Queues every folder that is due and readable, then runs the queue. */
  async #check(): Promise<void> {
    for (const e of this.#entries.values()) if (e.handle) e.access = await this.#query(e.handle);
    const now = this.now();
    const due = [...this.#entries.values()]
      .filter((e) => e.meta && e.access === 'granted' && e.id !== this.#current && !this.#queue.includes(e.id))
      .map((e) => ({ id: e.id, at: dueAt(timingOf(e.meta!), now) }))
      .filter((d) => d.at <= now)
      .sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : 1));
    this.#queue.push(...due.map((d) => d.id));
    this.checks++;
    this.#publish();
    this.#arm();
    void this.#pump();
  }

  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      for (let id = this.#queue[0]; id !== undefined; id = this.#queue[0]) {
        const forced = this.#forced.delete(id);
        const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
        try {
          if (locks) await locks.request(RUN_LOCK, () => this.#run(id, forced));
          else await this.#run(id, forced);
        } catch (err) {
          // Storage failed (the run's own errors are recorded in its result): leave it for the next check.
          console.error('Backpact: a folder backup could not be recorded', err);
        } finally {
          this.#queue = this.#queue.filter((q) => q !== id);
          this.#current = null;
          this.#runStarted = false;
          this.#publish();
        }
      }
    } finally {
      this.#pumping = false;
      this.#publish();
      this.#arm();
    }
  }

  /** Runs one folder if it is still due (another tab may have run it) and readable. */
  async #run(id: string, forced: boolean): Promise<void> {
    this.#current = id;
    const e = this.#entries.get(id);
    const fresh = await this.#read(id);
    if (!e?.handle || !fresh) return;
    e.meta = fresh;
    if (!forced && dueAt(timingOf(fresh), this.now()) > this.now()) return;
    e.access = await this.#query(e.handle);
    if (e.access !== 'granted') return;
    // Marked before anything else: a page closed from here on resumes the run at the next start.
    await this.#save(e, { ...fresh, running: fresh.running ?? this.now() });
    if (!forced) await this.#waitForPartners();
    await this.backup.idle();
    if (!this.#entries.has(id)) return;
    this.#runStarted = true;
    this.#publish();
    const startedAt = this.now();
    let result: Partial<FolderMeta>;
    try {
      const items = await itemsFromDirectory(e.handle, startedAt);
      // Queued behind a manual backup: start in the same turn as the check, so no other run slips in.
      while (this.backup.running) await this.backup.idle();
      // Forgotten meanwhile: nothing to do.
      if (!this.#entries.has(id)) return;
      this.#backupIsOurs = true;
      const snapshotId = await this.backup.run(items, e.meta!.name).finally(() => (this.#backupIsOurs = false));
      const files = items.filter((i) => i.kind === 'file').length;
      result = {
        lastRun: startedAt, failures: 0, lastFailure: null,
        lastResult: { at: this.now(), ok: true, message: `Backed up ${files} ${files === 1 ? 'file' : 'files'}.`, snapshotId },
      };
    } catch (err) {
      const cancelled = (err instanceof DOMException || err instanceof Error) && err.name === 'AbortError';
      if (err instanceof FolderReadError && err.reason === 'not-allowed') e.access = await this.#query(e.handle);
      const at = this.now();
      const failures = (e.meta?.failures ?? 0) + 1;
      result = {
        failures, lastFailure: at,
        lastResult: { at, ok: false, message: cancelled ? 'Cancelled.' : err instanceof Error ? err.message : String(err), snapshotId: null },
      };
    }
    await this.#save(e, { ...e.meta!, ...result, running: null });
  }

  /** Right after a start partners are not linked yet: give them a moment, so shards go straight to them. */
  async #waitForPartners(): Promise<void> {
    const linked = (): boolean => this.partners.holders().every((h) => this.partners.link(h.peerId));
    if (linked()) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        off();
        resolve();
      };
      const timer = setTimeout(done, LINK_GRACE_MS);
      const off = this.partners.network.peers.on('link', () => {
        if (linked()) done();
      });
    });
  }
}
