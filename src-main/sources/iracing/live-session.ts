// Names the live session from what the reader saw, on the relay's side of the thread
// boundary: offline sessions need the session registry (a file the relay owns) to keep
// their id across a relay restart, and the reader's thread cannot reach it.
import { identifySession, offlineFingerprint } from '../../telemetry/session-identity';
import type { SessionRegistry } from '../../telemetry/session-registry';
import type { SourceSession } from '../source';
import type { LiveSessionInfo } from './live-reader';

/** The part of the session registry that names offline sessions. */
export type OfflineKeys = Pick<SessionRegistry, 'offlineKey' | 'noteOffline'>;

function subSessionIdOf(info: Record<string, unknown>): number {
  const weekend = info.WeekendInfo;
  const id = weekend && typeof weekend === 'object' ? (weekend as Record<string, unknown>).SubSessionID : undefined;
  return typeof id === 'number' && Number.isFinite(id) ? id : 0;
}

export class LiveSessionNamer {
  /** Offline keys by fingerprint, for the current sim run. */
  private keys = new Map<string, string>();
  private connection: number | null = null;
  private offline: { sessionId: string; fingerprint: string } | null = null;

  constructor(
    private readonly options: {
      sharePersonalData: boolean;
      /** Without it an offline session keeps its id for one sim run of one relay run. */
      registry?: OfflineKeys;
      now?: () => number;
    },
  ) {}

  name(s: LiveSessionInfo): SourceSession {
    // A new sim run is a new offline session, unless the registry recognises it (a relay
    // restart inside the same session: same track and car, and the sim clock went on).
    if (s.connection !== this.connection) {
      this.connection = s.connection;
      this.keys.clear();
    }
    const online = subSessionIdOf(s.info) > 0;
    const sessionTime = s.sessionTime ?? 0;
    let offlineKey = '';
    let fingerprint = '';
    if (!online) {
      fingerprint = offlineFingerprint(s.info);
      const now = this.options.now?.() ?? Date.now();
      offlineKey = this.keys.get(fingerprint) ?? this.options.registry?.offlineKey(fingerprint, sessionTime, now) ?? now.toString(36);
      this.keys.set(fingerprint, offlineKey);
    }
    const identity = identifySession(s.info, { offlineKey, sharePersonalData: this.options.sharePersonalData, sessionNum: s.sessionNum });
    this.offline = online ? null : { sessionId: identity.sessionId, fingerprint };
    if (!online) this.options.registry?.noteOffline(identity.sessionId, fingerprint, sessionTime);
    return {
      sessionId: identity.sessionId,
      tickStrides: s.tickStrides,
      meta: {
        ...identity.meta,
        source: 'iracing',
        sessionNum: s.sessionNum,
        live: { tickRate: s.tickRate },
        streams: s.streams,
      },
    };
  }

  /**
   * The sim clock of the current offline session, as it goes on: the registry recognises
   * a relay restart inside this session by a clock that did not go back since.
   */
  progress(sessionTime: number | null): void {
    if (this.offline && sessionTime !== null) this.options.registry?.noteOffline(this.offline.sessionId, this.offline.fingerprint, sessionTime);
  }
}
