// What survives a relay restart inside one iRacing session: the seqs already used per
// stream, so the next run continues them instead of starting at 1 again (which a gateway
// would count as duplicates), and the key that names an offline session.
//
// Seqs are reserved in blocks and the reservation is written before a seq in it is used,
// so even after a crash the next run starts past every seq the last one could have sent.
// A clean stop writes the exact last seq, so nothing is skipped then.
import fs from 'node:fs';
import path from 'node:path';

export const SESSION_STATE_FILE = 'sessions.json';
const RESERVATION_BLOCK = 600;
const MAX_SESSIONS = 50;

interface SessionEntry {
  /** Next seq to use per stream. */
  next: Record<string, number>;
  updatedAt: number;
  /** Offline sessions: the fingerprint and the last SessionTime seen, to recognise a restart. */
  fingerprint?: string;
  sessionTime?: number;
}

interface StateFile {
  sessions: Record<string, SessionEntry>;
}

export class SessionRegistry {
  private state: StateFile;
  private readonly file: string | null;

  /** With no directory it remembers nothing across runs (tests, benches). */
  constructor(configDir: string | null, private readonly onError: (message: string) => void = () => {}) {
    this.file = configDir ? path.join(configDir, SESSION_STATE_FILE) : null;
    this.state = this.load();
  }

  /** Where each stream of this session continues; empty for a session this relay never sent. */
  resumePoint(sessionId: string): Record<string, number> {
    return { ...(this.state.sessions[sessionId]?.next ?? {}) };
  }

  /** Called before `seq` is used: extends the written reservation when it runs out. */
  reserve(sessionId: string, stream: string, seq: number, reserved: number): number {
    if (seq < reserved) return reserved;
    const entry = this.entry(sessionId);
    entry.next[stream] = seq + RESERVATION_BLOCK;
    this.save();
    return seq + RESERVATION_BLOCK;
  }

  /** A clean stop: the exact next seq per stream. */
  finish(sessionId: string, next: Record<string, number>): void {
    const entry = this.entry(sessionId);
    entry.next = { ...entry.next, ...next };
    this.save();
  }

  /**
   * The key of an offline session: the same as last run's when the fingerprint matches and
   * the sim's clock has not gone back (the same session goes on), else a new one.
   */
  offlineKey(fingerprint: string, sessionTime: number, now = Date.now()): string {
    for (const [id, e] of Object.entries(this.state.sessions)) {
      if (e.fingerprint === fingerprint && e.sessionTime !== undefined && sessionTime >= e.sessionTime && now - e.updatedAt < 6 * 3600_000) {
        e.sessionTime = sessionTime;
        return id.slice(id.lastIndexOf('-') + 1);
      }
    }
    return now.toString(36);
  }

  noteOffline(sessionId: string, fingerprint: string, sessionTime: number): void {
    const entry = this.entry(sessionId);
    entry.fingerprint = fingerprint;
    entry.sessionTime = sessionTime;
  }

  private entry(sessionId: string): SessionEntry {
    let e = this.state.sessions[sessionId];
    if (!e) {
      e = { next: {}, updatedAt: Date.now() };
      this.state.sessions[sessionId] = e;
      const ids = Object.keys(this.state.sessions);
      if (ids.length > MAX_SESSIONS) {
        ids.sort((a, b) => (this.state.sessions[a]?.updatedAt ?? 0) - (this.state.sessions[b]?.updatedAt ?? 0));
        for (const old of ids.slice(0, ids.length - MAX_SESSIONS)) delete this.state.sessions[old];
      }
    }
    e.updatedAt = Date.now();
    return e;
  }

  private load(): StateFile {
    if (!this.file) return { sessions: {} };
    try {
      const parsed = JSON.parse(fs.readFileSync(this.file, 'utf8')) as Partial<StateFile>;
      const sessions: Record<string, SessionEntry> = {};
      for (const [id, e] of Object.entries(parsed.sessions ?? {})) {
        const next = Object.fromEntries(Object.entries(e?.next ?? {}).filter(([, v]) => Number.isSafeInteger(v) && v > 0));
        sessions[id] = { ...e, next, updatedAt: Number(e?.updatedAt) || 0 };
      }
      return { sessions };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.onError(`${this.file} is unreadable (${(e as Error).message}); seqs start afresh, a gateway may count repeats of this session as duplicates`);
      }
      return { sessions: {} };
    }
  }

  private save(): void {
    if (!this.file) return;
    const tmp = `${this.file}.${process.pid}.tmp`;
    try {
      fs.writeFileSync(tmp, JSON.stringify(this.state), { mode: 0o600 });
      fs.renameSync(tmp, this.file);
    } catch (e) {
      this.onError(`cannot write ${this.file}: ${(e as Error).message}`);
    }
  }
}
