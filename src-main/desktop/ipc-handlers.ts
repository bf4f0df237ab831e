// The main-process side of the typed bridge: one handler per channel of BridgeChannels,
// each checking who sent the message before anything else and validating its argument
// with the shared schemas (the same ones the HTTP dashboard uses).
import type { z } from 'zod';
import {
  BRIDGE_CHANNELS,
  KillSwitchRequestSchema,
  SettingsUpdateSchema,
  failure,
  schemaProblems,
  type ActionFailure,
  type ActionResult,
  type BridgeChannel,
  type BridgeChannels,
} from '../../src-shared/bridge';
import { CutoverRequestSchema } from '../../src-shared/cutover';
import type { IpcPort, IpcSender } from './ports';

/** What the handlers call: the running relay's dashboard calls, or an explanation why there is none. */
export interface BridgeBackend {
  getState(): BridgeChannels['relay:get-state']['response'];
  getHistory(): BridgeChannels['relay:get-history']['response'];
  setKillSwitch(request: BridgeChannels['relay:set-kill-switch']['request']): ActionResult | Promise<ActionResult>;
  updateSettings(request: BridgeChannels['relay:update-settings']['request']): ActionResult | Promise<ActionResult>;
  exportReport(): Promise<BridgeChannels['relay:export-report']['response']>;
  saveReport(): Promise<BridgeChannels['relay:save-report']['response']>;
  cutover(request: BridgeChannels['relay:cutover']['request']): BridgeChannels['relay:cutover']['response'];
}

export class IpcRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IpcRefusedError';
  }
}

export interface RegisterOptions {
  isTrusted(sender: IpcSender): boolean;
  log(message: string): void;
}

/** Registers every channel; returns the function that removes them all. */
export function registerBridgeHandlers(ipc: IpcPort, backend: BridgeBackend, options: RegisterOptions): () => void {
  const refusedFrom = (channel: string, sender: IpcSender): never => {
    options.log(`IPC ${channel} refused: sender webContents ${sender.webContentsId} (${sender.frameUrl ?? 'no frame'}${sender.isMainFrame ? '' : ', a subframe'}) is not the dashboard window`);
    throw new IpcRefusedError(`${channel} refused: only the dashboard window may call the relay`);
  };
  const noArgument = (channel: string, arg: unknown): ActionFailure | null =>
    arg === undefined || arg === null ? null : failure(400, `${channel} takes no argument; got ${typeof arg}`);
  const parsed = <T>(schema: z.ZodType<T>, arg: unknown): { ok: true; value: T } | { ok: false; failure: ActionFailure } => {
    const r = schema.safeParse(arg);
    return r.success ? { ok: true, value: r.data } : { ok: false, failure: failure(400, 'the request does not match what this action expects; nothing was changed', schemaProblems(r.error, '(argument)')) };
  };

  const handlers: { [C in BridgeChannel]: (arg: unknown) => unknown } = {
    'relay:get-state': (arg) => {
      const bad = noArgument('relay:get-state', arg);
      if (bad) throw new Error(bad.error);
      return backend.getState();
    },
    'relay:get-history': (arg) => {
      const bad = noArgument('relay:get-history', arg);
      if (bad) throw new Error(bad.error);
      return backend.getHistory();
    },
    'relay:set-kill-switch': (arg) => {
      const r = parsed(KillSwitchRequestSchema, arg);
      return r.ok ? backend.setKillSwitch(r.value) : r.failure;
    },
    'relay:update-settings': (arg) => {
      const r = parsed(SettingsUpdateSchema, arg);
      return r.ok ? backend.updateSettings(r.value) : r.failure;
    },
    'relay:export-report': (arg) => noArgument('relay:export-report', arg) ?? backend.exportReport(),
    'relay:save-report': (arg) => noArgument('relay:save-report', arg) ?? backend.saveReport(),
    'relay:cutover': (arg) => {
      const r = parsed(CutoverRequestSchema, arg);
      return r.ok ? backend.cutover(r.value) : r.failure;
    },
  };

  for (const channel of BRIDGE_CHANNELS) {
    const run = handlers[channel];
    ipc.handle(channel, (sender, arg) => {
      if (!options.isTrusted(sender)) return refusedFrom(channel, sender);
      return run(arg);
    });
  }
  return () => {
    for (const channel of BRIDGE_CHANNELS) ipc.removeHandler(channel);
  };
}
