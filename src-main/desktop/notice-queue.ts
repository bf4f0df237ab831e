// Desktop notices that never interrupt a live session: while the sim is live they are
// held, and shown once it is not. A notice that is only an update of an earlier one (same
// key) replaces it, so a long stint never ends with a burst of stale pop-ups.
import type { SourceState } from '../sources/source';
import type { NotificationPort } from './ports';

export interface Notice {
  /** Notices with the same key are the same subject: only the latest one is kept while held. */
  key: string;
  title: string;
  body: string;
  onClick?: () => void;
}

/** What became of a notice: shown now, held for later, or written to the log only. */
export type NoticeOutcome = 'shown' | 'held' | 'logged';

/** The most notices held during one live session; beyond it the oldest go. */
export const MAX_HELD_NOTICES = 10;

export class NoticeQueue {
  private readonly queue: Notice[] = [];
  private droppedCount = 0;

  constructor(
    private readonly notifications: NotificationPort,
    /** True when the source is not live, so a pop-up cannot disturb a session. */
    private readonly isQuiet: () => boolean,
    private readonly log?: (msg: string) => void,
  ) {}

  notify(notice: Notice): NoticeOutcome {
    if (this.isQuiet()) {
      // Anything still held is older than this notice: it goes first so the order stays true.
      this.flush();
      return this.show(notice);
    }
    const same = this.queue.findIndex((n) => n.key === notice.key);
    if (same >= 0) this.queue.splice(same, 1);
    this.queue.push(notice);
    if (this.queue.length > MAX_HELD_NOTICES) {
      const dropped = this.queue.shift();
      this.droppedCount += 1;
      this.log?.(`notice dropped while the session is live (${MAX_HELD_NOTICES} already held; ${this.droppedCount} dropped so far): ${dropped?.title ?? ''}`);
    }
    return 'held';
  }

  /** Called on every source state change: leaving 'live' releases what was held. */
  sourceStateChanged(state: SourceState): void {
    if (state === 'live') return;
    this.flush();
  }

  /** The notices waiting for the session to end, oldest first. */
  held(): readonly Notice[] {
    return [...this.queue];
  }

  /** How many held notices were dropped because too many were waiting. */
  dropped(): number {
    return this.droppedCount;
  }

  private flush(): void {
    // Taken out before showing, so a notice raised from a click handler cannot loop here.
    for (const notice of this.queue.splice(0)) this.show(notice);
  }

  private show(notice: Notice): NoticeOutcome {
    let supported = false;
    try {
      supported = this.notifications.isSupported();
    } catch {
      supported = false;
    }
    if (!supported) {
      this.log?.(`notice (notifications not supported here): ${notice.title}: ${notice.body}`);
      return 'logged';
    }
    try {
      this.notifications.show(notice.title, notice.body, notice.onClick);
      return 'shown';
    } catch (e) {
      // A notice is never worth an exception in the caller, which may be mid-way through a state change.
      this.log?.(`notice could not be shown (${e instanceof Error ? e.message : String(e)}): ${notice.title}: ${notice.body}`);
      return 'logged';
    }
  }
}
