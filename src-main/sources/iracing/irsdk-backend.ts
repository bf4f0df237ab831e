// iRacing's shared memory through irsdk-node (N-API; it reads the same memory node-irsdk
// did, which no longer installs on current Node or Electron). Windows only: anywhere else,
// and on Windows when its native module fails to load, irsdk-node serves a mock with
// made-up data. So irsdk-node is imported here only on win32, only when asked, and an SDK
// that turned out to be the mock is refused rather than relayed as if it were a car.
import type { IRacingSDK, TelemetryVariable, TelemetryVarList } from 'irsdk-node';
import { decodeCp1252 } from '../../ibt/cp1252';
import type { IbtValue, IbtVarType } from '../../ibt/types';
import type { VariableInfo } from '../../telemetry/frame-mapper';
import { SourceUnavailableError } from '../source';
import { LIVE_PLATFORM, windowsOnlyMessage, type SimBackend } from './sim-backend';

/** irsdk_VarType, in order. */
const VAR_TYPES: readonly IbtVarType[] = ['char', 'bool', 'int', 'bitField', 'float', 'double'];

/**
 * irsdk-node's native handle (IRacingSDK's `_sdk`, typed in @irsdk-node/native as
 * INativeSDK). Used for two things the wrapper hides: whether it is the mock, and the
 * session YAML as text. The wrapper parses that YAML strictly with js-yaml, which fails on
 * the unquoted user and team names iRacing writes (then logs and returns null); our own
 * lenient parser (ibt/session-yaml) copes with those.
 */
interface NativeHandle {
  readonly isMocked?: boolean;
  getSessionData(): string;
}

function nativeOf(sdk: IRacingSDK): NativeHandle | undefined {
  const native = (sdk as unknown as { _sdk?: Partial<NativeHandle> })._sdk;
  return native && typeof native.getSessionData === 'function' ? (native as NativeHandle) : undefined;
}

function toValue(v: TelemetryVariable<unknown>): IbtValue | undefined {
  const value: unknown = v.value;
  // irsdk-node converts every type to an array except char, which stays raw bytes.
  if (value instanceof ArrayBuffer) {
    const bytes = new Uint8Array(value);
    const end = bytes.indexOf(0);
    return decodeCp1252(end === -1 ? bytes : bytes.subarray(0, end));
  }
  if (!Array.isArray(value)) return undefined;
  // The same shape as a recording's: a scalar for count 1, an array otherwise.
  return v.length === 1 ? (value[0] as IbtValue) : (value as number[] | boolean[]);
}

export class IrsdkBackend implements SimBackend {
  /** Names on offer in the current variable table: asking irsdk-node for any other crashes it. */
  private known = new Set<string>();

  private constructor(
    private readonly sdk: IRacingSDK,
    private readonly native: NativeHandle,
  ) {}

  /** Throws SourceUnavailableError off Windows (without importing irsdk-node) or when only its mock loaded. */
  static async load(): Promise<IrsdkBackend> {
    if (process.platform !== LIVE_PLATFORM) throw new SourceUnavailableError(windowsOnlyMessage());
    const { IRacingSDK } = await import('irsdk-node');
    const sdk = new IRacingSDK({ autoEnableTelemetry: false });
    const native = nativeOf(sdk);
    if (!native || native.isMocked !== false) {
      throw new SourceUnavailableError(
        'irsdk-node did not load its native iRacing SDK module (not built for this Node or Electron version?) and would ' +
          'serve made-up mock data instead, which this relay never relays. Reinstall irsdk-node for this runtime, or use ' +
          '--source ibt:<file.ibt> or --source synthetic.',
      );
    }
    return new IrsdkBackend(sdk, native);
  }

  open(): boolean {
    this.known.clear();
    return this.sdk.startSDK();
  }

  isConnected(): boolean {
    return this.sdk.sessionStatusOK;
  }

  waitForData(timeoutMs: number): boolean {
    return this.sdk.waitForData(timeoutMs);
  }

  sessionInfoVersion(): number {
    return this.sdk.getSessionVersionNum();
  }

  sessionInfoYaml(): string | null {
    // The native module hands over the sim's cp1252 bytes as if they were UTF-8: accented
    // names may arrive with replacement characters, which nothing above can undo.
    const text = this.native.getSessionData();
    return text === '' ? null : text;
  }

  variables(): VariableInfo[] {
    // A new session may bring another car, whose variable table differs: drop the
    // wrapper's name -> index cache along with our list of names.
    this.sdk.resetTelemetryVariableCache();
    const all = Object.values(this.sdk.getTelemetry() as unknown as Record<string, TelemetryVariable<unknown>>);
    const list: VariableInfo[] = [];
    for (const v of all) {
      const type = VAR_TYPES[v.varType];
      if (type === undefined) continue;
      list.push({ name: v.name, type, unit: v.unit, count: v.length });
    }
    this.known = new Set(list.map((v) => v.name));
    return list;
  }

  read(names: readonly string[]): Record<string, IbtValue> {
    const out: Record<string, IbtValue> = {};
    for (const name of names) {
      if (!this.known.has(name)) continue;
      const v = this.sdk.getTelemetryVariable<number | boolean | string>(name as keyof TelemetryVarList);
      const value = v ? toValue(v as TelemetryVariable<unknown>) : undefined;
      if (value !== undefined) out[name] = value;
    }
    return out;
  }

  tickRate(): number {
    // The shared memory header's tickRate is not exposed by irsdk-node; live telemetry
    // is always published at 60 Hz (only disk telemetry may be recorded faster).
    return 60;
  }

  close(): void {
    this.known.clear();
    this.sdk.stopSDK();
  }
}
