// The kill switch's global hotkey: a racer in a fullscreen or VR sim cannot reach the tray
// during an incident, but a key combination reaches the app while the sim has focus. Off
// until a person chooses one; the system may refuse an accelerator another program holds,
// and the tray then says so rather than pretending it works.
import type { HotkeyPort } from './ports';
import type { HotkeyState } from './tray-model';

export class KillSwitchHotkey {
  private accelerator: string | null = null;
  private registered = false;

  constructor(
    private readonly port: HotkeyPort,
    private readonly onPress: () => void,
    private readonly log: (message: string) => void,
  ) {}

  /** Replaces the registered accelerator (null: none). */
  apply(accelerator: string | null): HotkeyState {
    if (accelerator === this.accelerator && (this.registered || accelerator === null)) return this.state();
    this.release();
    this.accelerator = accelerator;
    if (accelerator !== null) {
      this.registered = this.port.register(accelerator, () => this.onPress());
      if (this.registered) this.log(`kill switch hotkey ${accelerator} registered`);
      else this.log(`kill switch hotkey ${accelerator} could not be registered: the system or another program holds it; choose another in the tray menu`);
    }
    return this.state();
  }

  state(): HotkeyState {
    return { accelerator: this.accelerator, registered: this.registered };
  }

  dispose(): void {
    this.release();
    this.accelerator = null;
  }

  private release(): void {
    if (this.accelerator !== null && this.registered) this.port.unregister(this.accelerator);
    this.registered = false;
  }
}
