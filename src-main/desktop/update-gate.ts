// When electron-updater may act. The product rule is that nothing interrupts a live
// session: no check, no download, no notice and no install while the source is live; the
// user can also turn updates off or put them off for a while. electron-updater itself is
// configured to do nothing on its own (see UpdaterPort): every step starts here.
import type { DesktopPrefs } from '../../src-shared/desktop';
import type { Clock, TimerHandle } from '../runtime/clock';
import type { SourceState } from '../sources/source';
import type { Notice } from './notice-queue';
import type { UpdaterEvent, UpdaterPort } from './ports';

export type UpdatePrefs = Pick<DesktopPrefs, 'updates' | 'updatesDeferredUntil'>;

export type UpdatePhase = 'off' | 'deferred' | 'idle' | 'checking' | 'downloading' | 'ready' | 'waiting-for-session-end' | 'error';

/** What the tray menu shows about updates. */
export interface UpdateStatus {
  phase: UpdatePhase;
  version?: string;
  detail?: string;
}

export interface UpdateGateDeps {
  updater: UpdaterPort;
  prefs: () => UpdatePrefs;
  /** Persists a change of the update preferences; `prefs()` reflects it once this returns. */
  savePrefs: (patch: Partial<UpdatePrefs>) => void;
  sourceState: () => SourceState;
  /** Its now() is compared with DesktopPrefs.updatesDeferredUntil (epoch ms). */
  clock: Clock;
  /** False in development: a dev build has nothing to update from. */
  isPackaged: boolean;
  /** The notice queue, which itself holds notices while the source is live. */
  notifier: { notify(notice: Notice): unknown };
  log?: (msg: string) => void;
  /** Called when status() has changed, so the tray can relabel its update item. */
  onChange?: () => void;
}

export interface UpdateGateOptions {
  checkIntervalMs?: number;
  firstCheckDelayMs?: number;
}

export const DEFAULT_CHECK_INTERVAL_MS = 6 * 60 * 60 * 1000;
export const DEFAULT_FIRST_CHECK_DELAY_MS = 60_000;
/** The key of the "update ready" notice, so a second download replaces the first notice while held. */
export const UPDATE_READY_NOTICE_KEY = 'update-ready';

// Node's timers overflow past 2^31-1 ms and fire at once; a long deferral is waited for in
// steps of at most a day, each step re-reading the preferences.
const MAX_WAIT_MS = 24 * 60 * 60 * 1000;

export class UpdateGate {
  private readonly checkIntervalMs: number;
  private readonly firstCheckDelayMs: number;
  private timer: { handle: TimerHandle } | null = null;
  private started = false;
  private disposed = false;
  private nextCheckAt = 0;
  /** A check came due but could not run yet (the session was live): it runs when it can. */
  private checkDue = false;
  private op: 'check' | 'download' | null = null;
  /** Tells a settled promise of an earlier operation from the current one. */
  private opSeq = 0;
  private available: string | null = null;
  private downloaded: string | null = null;
  private error: string | null = null;
  private refusal: string | null = null;
  private wasEnabled: boolean;
  private lastStatus = '';

  constructor(
    private readonly deps: UpdateGateDeps,
    options: UpdateGateOptions = {},
  ) {
    this.checkIntervalMs = options.checkIntervalMs ?? DEFAULT_CHECK_INTERVAL_MS;
    this.firstCheckDelayMs = options.firstCheckDelayMs ?? DEFAULT_FIRST_CHECK_DELAY_MS;
    this.wasEnabled = this.enabled();
    this.lastStatus = JSON.stringify(this.status());
    deps.updater.onEvent((event) => {
      this.onEvent(event);
      this.reportChange();
    });
  }

  /** Schedules the first check `firstCheckDelayMs` from now (startup is busy enough). */
  start(): void {
    if (this.started || this.disposed) return;
    this.started = true;
    this.nextCheckAt = this.deps.clock.now() + this.firstCheckDelayMs;
    this.reschedule();
    this.reportChange();
  }

  /** Called on every source state change: leaving 'live' lets a waiting check or download run. */
  sourceStateChanged(state: SourceState): void {
    if (state !== 'live') this.proceed();
    // Live or not changes what status() says even when nothing starts.
    this.reportChange();
  }

  /** Called after the update preferences change (turned off or on, deferred, deferral cleared). */
  prefsChanged(): void {
    if (this.disposed) return;
    const enabled = this.enabled();
    // Turned back on: check soon rather than at a time computed before it was turned off.
    if (enabled && !this.wasEnabled) this.nextCheckAt = this.deps.clock.now() + this.firstCheckDelayMs;
    if (!enabled) this.checkDue = false;
    this.wasEnabled = enabled;
    this.reschedule();
    this.proceed();
    this.reportChange();
  }

  /** The user's "not now": no check, download or install until `ms` from now. */
  defer(ms: number): void {
    if (!Number.isFinite(ms) || ms <= 0) throw new RangeError(`defer: expected a positive number of ms, got ${ms}`);
    this.deps.savePrefs({ updatesDeferredUntil: Math.round(this.deps.clock.now() + ms) });
    this.prefsChanged();
  }

  cancelDeferral(): void {
    this.deps.savePrefs({ updatesDeferredUntil: null });
    this.prefsChanged();
  }

  /** Whether quitting now may install the downloaded update. */
  installOnQuitAllowed(): boolean {
    return this.readyUpdate()?.installable === true;
  }

  /**
   * The downloaded update the tray may offer, installable now or only after the session;
   * null when there is none, or updates are off or deferred.
   */
  readyUpdate(): { version: string; installable: boolean } | null {
    if (this.downloaded === null || !this.enabled() || this.deferredUntil() !== null) return null;
    return { version: this.downloaded, installable: !this.live() };
  }

  /**
   * The tray's "Restart to update". A deferral does not stop it (the user asked for it just
   * now); a live session does, and the reason is kept for `lastRefusal()`.
   */
  restartToUpdate(): boolean {
    const reason = this.restartBlockedBy();
    if (reason !== null) return this.refuse(reason);
    try {
      this.deps.updater.quitAndInstall();
    } catch (e) {
      return this.refuse(`the update could not be installed: ${errorMessage(e)}`);
    }
    this.refusal = null;
    return true;
  }

  lastRefusal(): string | null {
    return this.refusal;
  }

  status(): UpdateStatus {
    if (!this.deps.isPackaged) return { phase: 'off', detail: 'development build: updates are not checked' };
    if (this.deps.prefs().updates === 'off') return { phase: 'off', detail: 'updates are turned off' };
    const deferredUntil = this.deferredUntil();
    if (deferredUntil !== null) {
      return { phase: 'deferred', ...this.versionField(this.downloaded), detail: `until ${new Date(deferredUntil).toISOString()}` };
    }
    const live = this.live();
    if (this.downloaded !== null) {
      return live
        ? { phase: 'waiting-for-session-end', version: this.downloaded, detail: 'installs when you quit after the session' }
        : { phase: 'ready', version: this.downloaded, detail: 'installs when you quit' };
    }
    if (this.op === 'check') return { phase: 'checking' };
    if (this.op === 'download') return { phase: 'downloading', ...this.versionField(this.available) };
    if (this.available !== null && live) return { phase: 'waiting-for-session-end', version: this.available, detail: 'downloads after the session' };
    if (this.error !== null) return { phase: 'error', detail: this.error };
    if (this.checkDue && live) return { phase: 'waiting-for-session-end', detail: 'checks after the session' };
    return { phase: 'idle' };
  }

  dispose(): void {
    this.disposed = true;
    this.clearTimer();
  }

  private enabled(): boolean {
    return this.deps.isPackaged && this.deps.prefs().updates === 'auto';
  }

  /** The end of a deferral still running, or null. */
  private deferredUntil(): number | null {
    const until = this.deps.prefs().updatesDeferredUntil;
    return until !== null && this.deps.clock.now() < until ? until : null;
  }

  private live(): boolean {
    return this.deps.sourceState() === 'live';
  }

  private versionField(version: string | null): { version?: string } {
    return version === null ? {} : { version };
  }

  private restartBlockedBy(): string | null {
    if (!this.deps.isPackaged) return 'development builds do not update';
    if (this.deps.prefs().updates === 'off') return 'updates are turned off';
    if (this.downloaded === null) return 'no update has been downloaded';
    if (this.live()) return 'a session is live: restart to update once it is over';
    return null;
  }

  private refuse(reason: string): false {
    this.refusal = reason;
    this.deps.log?.(`update: restart refused: ${reason}`);
    return false;
  }

  private clearTimer(): void {
    if (this.timer === null) return;
    this.deps.clock.clearTimeout(this.timer.handle);
    this.timer = null;
  }

  /** One timer for the next check, pushed past any deferral; none once off or downloaded. */
  private reschedule(): void {
    this.clearTimer();
    if (this.disposed || !this.started || !this.enabled() || this.downloaded !== null) return;
    // Work already waiting (a found update, a check that came due) goes as soon as a deferral allows.
    let at = this.available !== null || this.checkDue ? this.deps.clock.now() : this.nextCheckAt;
    const deferredUntil = this.deferredUntil();
    if (deferredUntil !== null) at = Math.max(at, deferredUntil);
    const wait = Math.min(Math.max(0, at - this.deps.clock.now()), MAX_WAIT_MS);
    const timer = {
      handle: this.deps.clock.setTimeout(() => {
        if (this.timer !== timer) return;
        this.timer = null;
        this.onTimer();
        this.reportChange();
      }, wait),
    };
    this.timer = timer;
  }

  private onTimer(): void {
    // An operation in flight reschedules when it settles.
    if (this.disposed || !this.enabled() || this.op !== null) return;
    if (this.deferredUntil() !== null) {
      this.reschedule();
      return;
    }
    if (this.available === null && !this.checkDue) {
      if (this.deps.clock.now() < this.nextCheckAt) {
        this.reschedule();
        return;
      }
      this.checkDue = true;
    }
    // While live this starts nothing and sets no timer: the next source state change resumes it.
    this.proceed();
  }

  /** Starts whatever is waiting, if nothing stands in the way right now. */
  private proceed(): void {
    if (this.disposed || !this.started || !this.enabled() || this.op !== null || this.downloaded !== null) return;
    if (this.deferredUntil() !== null || this.live()) return;
    if (this.available !== null) this.startDownload(this.available);
    else if (this.checkDue) this.startCheck();
  }

  private startCheck(): void {
    this.checkDue = false;
    this.error = null;
    const seq = this.begin('check');
    this.run(() => this.deps.updater.check(), seq, () => {
      // Resolved without saying whether there is an update: nothing to do until the next check.
      this.op = null;
      this.scheduleNextCheck();
    });
  }

  private startDownload(version: string): void {
    this.error = null;
    this.deps.log?.(`update: downloading ${version}`);
    const seq = this.begin('download');
    // electron-updater resolves the download once the file is in place, whether or not its event came first.
    this.run(() => this.deps.updater.download(), seq, () => this.markDownloaded(version));
  }

  private begin(op: 'check' | 'download'): number {
    this.op = op;
    this.opSeq += 1;
    return this.opSeq;
  }

  private run(call: () => Promise<void>, seq: number, settledFirst: () => void): void {
    let promise: Promise<void>;
    try {
      promise = call();
    } catch (e) {
      promise = Promise.reject(e);
    }
    promise.then(
      () => {
        if (!this.disposed && seq === this.opSeq && this.op !== null) settledFirst();
        this.reportChange();
      },
      (e: unknown) => {
        if (!this.disposed && seq === this.opSeq && this.op !== null) this.fail(errorMessage(e));
        this.reportChange();
      },
    );
  }

  private onEvent(event: UpdaterEvent): void {
    if (this.disposed) return;
    switch (event.kind) {
      case 'available':
        if (this.op === 'check') this.op = null;
        this.error = null;
        if (this.downloaded === null) this.available = event.version;
        this.scheduleNextCheck();
        this.proceed();
        break;
      case 'not-available':
        if (this.op === 'check') this.op = null;
        this.error = null;
        this.scheduleNextCheck();
        break;
      case 'downloaded':
        this.markDownloaded(event.version);
        break;
      case 'error':
        this.fail(event.message);
        break;
    }
  }

  private reportChange(): void {
    if (this.disposed || !this.deps.onChange) return;
    const now = JSON.stringify(this.status());
    if (now === this.lastStatus) return;
    this.lastStatus = now;
    try {
      this.deps.onChange();
    } catch (e) {
      this.deps.log?.(`update: status listener failed: ${errorMessage(e)}`);
    }
  }

  private scheduleNextCheck(): void {
    this.nextCheckAt = this.deps.clock.now() + this.checkIntervalMs;
    this.reschedule();
  }

  private markDownloaded(version: string): void {
    if (this.downloaded === version) return;
    this.downloaded = version;
    this.available = null;
    this.op = null;
    this.error = null;
    this.clearTimer();
    if (this.enabled() && this.deferredUntil() === null) {
      this.deps.notifier.notify({ key: UPDATE_READY_NOTICE_KEY, title: 'Update ready', body: `Update ${version} ready: installs when you quit` });
    } else {
      this.deps.log?.(`update: ${version} downloaded; not installing while updates are off or deferred`);
    }
  }

  /** Updater errors go to the log only (never a pop-up) and the next interval tries again. */
  private fail(message: string): void {
    // electron-updater reports one failure both as an event and as a rejection: log it once.
    const repeat = this.error === message && this.op === null;
    this.op = null;
    this.error = message;
    this.available = null;
    if (!repeat) this.deps.log?.(`update: ${message}; trying again in ${Math.round(this.checkIntervalMs / 60_000)} min`);
    if (this.downloaded === null) this.scheduleNextCheck();
  }
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
