// The session id and the hello's metadata, from iRacing's session YAML.
//
// Online sessions have ids of their own (WeekendInfo.SessionID / SubSessionID), so a relay
// restarted inside the same session announces the same id and the gateway keeps one record.
// Offline sessions (test drives, AI races) have both at 0: there the id also carries a key
// the caller keeps stable for that session (a recording's start date; for live telemetry,
// the session registry's key), so two different offline sessions never share an id.
import { createHash } from 'node:crypto';

export interface SessionIdentity {
  sessionId: string;
  meta: Record<string, unknown>;
}

type Yaml = Record<string, unknown>;

const obj = (v: unknown): Yaml => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Yaml) : {});
const list = (v: unknown): Yaml[] => (Array.isArray(v) ? v.map(obj) : []);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const text = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v.trim() : typeof v === 'number' ? String(v) : null);

export function playerDriver(info: unknown): Yaml {
  const driverInfo = obj(obj(info).DriverInfo);
  const idx = num(driverInfo.DriverCarIdx);
  return list(driverInfo.Drivers).find((d) => num(d.CarIdx) === idx) ?? {};
}

/** Stable within one session, different between sessions: online ids, or the track/car/key hash offline. */
export function sessionIdOf(info: unknown, offlineKey: string): string {
  const weekend = obj(obj(info).WeekendInfo);
  const sessionId = num(weekend.SessionID) ?? 0;
  const subSessionId = num(weekend.SubSessionID) ?? 0;
  if (subSessionId > 0) return `ir-${sessionId}-${subSessionId}`;
  return `ir-offline-${offlineFingerprint(info)}-${offlineKey.replace(/[^\x21-\x7e]/g, '').slice(0, 40)}`;
}

/** What an offline session is recognisable by, without anything personal in it. */
export function offlineFingerprint(info: unknown): string {
  const weekend = obj(obj(info).WeekendInfo);
  const car = playerDriver(info);
  const basis = JSON.stringify([weekend.TrackID ?? null, weekend.TrackConfigName ?? null, car.CarID ?? null, car.CarPath ?? null, weekend.EventType ?? null]);
  return createHash('sha256').update(basis).digest('hex').slice(0, 10);
}

export function sessionTypeOf(info: unknown, sessionNum: number | null): string | null {
  const sessions = list(obj(obj(info).SessionInfo).Sessions);
  const current = sessions.find((s) => num(s.SessionNum) === sessionNum) ?? sessions[0];
  return text(current?.SessionType);
}

/**
 * The hello's metadata: track, car, session type and the like. Personal fields (user
 * names and ids, team names) only when the racer allowed it (RELAY_SHARE_PERSONAL_DATA).
 */
export function sessionMeta(info: unknown, options: { sharePersonalData: boolean; sessionNum?: number | null }): Record<string, unknown> {
  const weekend = obj(obj(info).WeekendInfo);
  const driver = playerDriver(info);
  const meta: Record<string, unknown> = {
    track: text(weekend.TrackDisplayName),
    trackConfig: text(weekend.TrackConfigName),
    trackId: num(weekend.TrackID),
    car: text(driver.CarScreenName),
    carId: num(driver.CarID),
    carPath: text(driver.CarPath),
    sessionType: sessionTypeOf(info, options.sessionNum ?? null),
    eventType: text(weekend.EventType),
    category: text(weekend.Category),
    official: num(weekend.Official) === 1,
    iracingSessionId: num(weekend.SessionID),
    iracingSubSessionId: num(weekend.SubSessionID),
    seriesId: num(weekend.SeriesID),
    seasonId: num(weekend.SeasonID),
  };
  if (options.sharePersonalData) {
    meta.driver = {
      userName: text(driver.UserName),
      userId: num(driver.UserID),
      teamName: text(driver.TeamName),
    };
  }
  return meta;
}

export function identifySession(info: unknown, options: { offlineKey: string; sharePersonalData: boolean; sessionNum?: number | null }): SessionIdentity {
  return { sessionId: sessionIdOf(info, options.offlineKey), meta: sessionMeta(info, options) };
}
