// Is iRacing running? Asked the way its SDK answers it: the sim's memory map
// (Local\IRSDKMemMapFileName, with its data-valid event) exists exactly while the sim runs.
// Opening it is two kernel calls, so the answer costs nothing like spawning tasklist every
// few seconds did, and it does not depend on the sim's executable names.
//
// irsdk-node keeps its attachment in process-wide state that the live reader's thread uses
// too: a probe that attached and detached while the reader runs would pull the memory out
// from under it. So the probe refuses while a reader thread of this process is attached, and
// whoever runs a relay asks that relay's reader instead (IRacingSource.simPresent).
import { IrsdkBackend } from './irsdk-backend';
import { readerThreadsRunning } from './reader-thread';
import type { SimBackend } from './sim-backend';

export class SdkSimProbe {
  private backend: SimBackend | null = null;

  /** `load` stands in for irsdk-node in tests; it must refuse (throw) where there is no SDK. */
  constructor(private readonly load: () => Promise<SimBackend> = () => IrsdkBackend.load()) {}

  /**
   * True while the sim's memory map exists. Rejects (the sim watcher then keeps what it knew)
   * when the SDK cannot load, or while a live reader of this process owns the attachment.
   */
  async isRunning(): Promise<boolean> {
    if (readerThreadsRunning() > 0) throw new Error('the live reader is attached to the sim; ask the running relay instead of probing');
    this.backend ??= await this.load();
    const present = this.backend.open();
    // Let go at once: a handle kept open would keep the sim's map alive after it quits.
    this.backend.close();
    return present;
  }
}

/** The probe where the platform has the SDK (Windows), else null: "start with iRacing" does not apply. */
export function sdkSimProbeFor(platform: string = process.platform): SdkSimProbe | null {
  return platform === 'win32' ? new SdkSimProbe() : null;
}
