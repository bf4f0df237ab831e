// The report's environment header: what support asks first (which build, which OS, run as
// admin or not), answered without asking the racer.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import type { ReportEnvironment } from '../../src-shared/report';
import type { SourceView } from '../../src-shared/debug-api';
import { APP_NAME, APP_VERSION } from '../runtime/version';

export const BUILD_TIME_VARIABLE = 'RELAY_BUILD_TIME';
export const BUILD_TIME_UNKNOWN = 'unknown (running from source)';

let elevation: { elevated: ReportEnvironment['elevated']; detail: string } | undefined;

/** Root on POSIX; on Windows, whether `net session` (which needs Administrator) succeeds. Asked once per process. */
export function elevationOf(): { elevated: ReportEnvironment['elevated']; detail: string } {
  if (elevation) return elevation;
  if (typeof process.getuid === 'function') {
    const uid = process.getuid();
    elevation = uid === 0 ? { elevated: 'yes', detail: 'running as root (uid 0)' } : { elevated: 'no', detail: `running as uid ${uid}` };
  } else if (process.platform === 'win32') {
    try {
      const r = spawnSync('net', ['session'], { windowsHide: true, timeout: 2000, stdio: 'ignore' });
      elevation =
        r.error || r.status === null
          ? { elevated: 'unknown', detail: `cannot tell (net session: ${r.error?.message ?? 'no answer'})` }
          : r.status === 0
            ? { elevated: 'yes', detail: 'running as Administrator (net session succeeded)' }
            : { elevated: 'no', detail: 'not running as Administrator (net session was refused)' };
    } catch (e) {
      elevation = { elevated: 'unknown', detail: `cannot tell (${(e as Error).message})` };
    }
  } else {
    elevation = { elevated: 'unknown', detail: 'cannot tell on this platform' };
  }
  return elevation;
}

function osName(): string {
  if (process.platform === 'linux') {
    try {
      const text = fs.readFileSync('/etc/os-release', 'utf8');
      const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(text)?.[1];
      if (pretty) return `${os.type()} (${pretty})`;
    } catch {
      /* not every Linux has it */
    }
  }
  return os.type();
}

export function environmentOf(source: SourceView | null, relayUptimeMs: number, env: Record<string, string | undefined>): ReportEnvironment {
  const { elevated, detail } = elevationOf();
  const buildTime = env[BUILD_TIME_VARIABLE]?.trim();
  return {
    app: { name: APP_NAME, version: APP_VERSION, buildTime: buildTime ? buildTime : BUILD_TIME_UNKNOWN },
    os: { name: osName(), version: os.version(), release: os.release(), arch: os.arch(), platform: process.platform },
    elevated,
    elevatedDetail: detail,
    node: process.version,
    source,
    hostUptimeS: Math.round(os.uptime()),
    relayUptimeMs,
  };
}
