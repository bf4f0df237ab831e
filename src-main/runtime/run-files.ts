// What a running relay writes in its config folder beside the settings, and takes away when
// it stops: the runtime file (its lock, runtime-lock.ts), which gains the debug port once the
// server listens so `relay kill` and `relay status` find it, and the per-run dashboard secret
// that the CLI sends with its actions.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log/logger';
import { DASHBOARD_SECRET_FILE, type RuntimeLock } from './runtime-lock';

export function createSecret(): string {
  return randomBytes(24).toString('base64url');
}

/** Written readable by the user only: anyone who can read it may change the relay's settings. */
export function writeSecretFile(configDir: string, secret: string): string {
  const file = path.join(configDir, DASHBOARD_SECRET_FILE);
  fs.writeFileSync(file, secret + '\n', { mode: 0o600 });
  // writeFileSync keeps the mode of a file that already exists: a stale, wider one is narrowed.
  fs.chmodSync(file, 0o600);
  return file;
}

export function removeSecretFile(configDir: string): void {
  try {
    fs.rmSync(path.join(configDir, DASHBOARD_SECRET_FILE), { force: true });
  } catch {
    /* best effort: the next start overwrites it */
  }
}

export class RunFiles {
  constructor(
    private readonly configDir: string,
    private readonly lock: RuntimeLock,
    private readonly log: Logger,
  ) {}

  /**
   * Once the relay listens. A file that cannot be written is said in the log and the relay
   * runs on: the dashboard URL printed at start carries the secret, and only the CLI's
   * commands need the port.
   */
  publish(secret: string, debugPort: number): void {
    try {
      writeSecretFile(this.configDir, secret);
    } catch (e) {
      this.log.warn(`cannot write the dashboard secret file: ${(e as Error).message} (the dashboard URL printed at start still works)`);
    }
    try {
      this.lock.setDebugPort(debugPort);
    } catch (e) {
      this.log.warn(`cannot record the debug port in ${this.lock.file}: ${(e as Error).message} (relay status and relay kill will not find this relay)`);
    }
  }

  /** At the end of the run: the secret goes first, then the lock that says a relay runs here. */
  release(): void {
    removeSecretFile(this.configDir);
    this.lock.release();
  }
}
