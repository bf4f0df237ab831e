// The narrow boundary between the live reader's logic and what exists only on Windows
// (iRacing's shared memory). Everything above it is plain code that tests drive with
// recorded values; everything below it is irsdk-node.
import type { IbtValue } from '../../ibt/types';
import type { VariableInfo } from '../../telemetry/frame-mapper';

/**
 * variables() and read() look into the latest buffer: call them only after waitForData()
 * returned true since the last open() (irsdk-node dereferences that buffer unchecked).
 */
export interface SimBackend {
  /** Tries to attach to the sim's shared memory; false when iRacing is not running. */
  open(): boolean;
  /** The sim is still up (its status says connected). */
  isConnected(): boolean;
  /** Blocks up to `timeoutMs`; true when a new telemetry buffer arrived. */
  waitForData(timeoutMs: number): boolean;
  /** Changes whenever the session YAML changes. */
  sessionInfoVersion(): number;
  /** The session YAML as the sim wrote it; null (or empty) when there is none yet. */
  sessionInfoYaml(): string | null;
  /** Name, type, unit and count of every variable on offer. */
  variables(): VariableInfo[];
  /** The values of exactly these variables in the latest buffer, and no others. */
  read(names: readonly string[]): Record<string, IbtValue>;
  /** Telemetry buffers per second of the sim's clock. */
  tickRate(): number;
  close(): void;
}

/** Live telemetry is read from iRacing's shared memory, which exists only where iRacing runs. */
export const LIVE_PLATFORM = 'win32';

export function windowsOnlyMessage(platform: string = process.platform): string {
  return (
    `live iRacing telemetry (--source iracing) needs Windows: iRacing runs only there and its telemetry is read from ` +
    `its shared memory on the same PC, so it cannot be read on ${platform}. ` +
    `Use --source ibt:<file.ibt> to replay a recording, or --source synthetic for generated telemetry.`
  );
}
