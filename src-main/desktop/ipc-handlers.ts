// The main-process side of the typed bridge: one handler per IPC operation of the map in
// src-shared/bridge-operations.ts, each checking who sent the message before anything else
// and validating its argument with the shared schemas (the same ones the HTTP API uses).
import {
  BRIDGE_OPERATIONS,
  IPC_OPERATIONS,
  REQUEST_SCHEMAS,
  failure,
  parseRequest,
  type Handler,
  type IpcOperation,
} from '../../src-shared/bridge';
import type { IpcPort, IpcSender } from './ports';

/** What the handlers call: the running relay's dashboard calls, or an explanation why there is none. */
export type BridgeBackend = { readonly [N in IpcOperation]: Handler<N> };

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
  /** The argument as the operation's schema reads it, or why it is refused. */
  const requestOf = <N extends IpcOperation>(name: N, arg: unknown): ReturnType<typeof parseRequest<N>> => {
    if (REQUEST_SCHEMAS[name] === null && arg !== undefined && arg !== null) {
      return { ok: false, failure: failure(400, `${BRIDGE_OPERATIONS[name].channel} takes no argument; got ${typeof arg}`) };
    }
    return parseRequest(name, arg, '(argument)');
  };
  /** An action answers a refused argument with the refusal, as it answers any other. */
  const action =
    <N extends IpcOperation>(name: N) =>
    (arg: unknown): unknown => {
      const r = requestOf(name, arg);
      return r.ok ? backend[name](r.value) : r.failure;
    };
  /** A read has no refusal in its answer: a refused argument rejects the call. */
  const read =
    <N extends IpcOperation>(name: N) =>
    (arg: unknown): unknown => {
      const r = requestOf(name, arg);
      if (!r.ok) throw new Error(r.failure.error);
      return backend[name](r.value);
    };

  const handlers: { readonly [N in IpcOperation]: (arg: unknown) => unknown } = {
    getState: read('getState'),
    getHistory: read('getHistory'),
    setKillSwitch: action('setKillSwitch'),
    updateSettings: action('updateSettings'),
    exportReport: action('exportReport'),
    saveReport: action('saveReport'),
    cutover: action('cutover'),
  };

  for (const name of IPC_OPERATIONS) {
    const channel = BRIDGE_OPERATIONS[name].channel;
    const run = handlers[name];
    ipc.handle(channel, (sender, arg) => {
      if (!options.isTrusted(sender)) return refusedFrom(channel, sender);
      return run(arg);
    });
  }
  return () => {
    for (const name of IPC_OPERATIONS) ipc.removeHandler(BRIDGE_OPERATIONS[name].channel);
  };
}
