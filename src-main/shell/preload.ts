// The preload script of the dashboard window: the IPC implementation of the typed bridge,
// exposed to the page through contextBridge. It runs sandboxed (bundled to one CommonJS
// file: a sandboxed preload cannot load modules), hands the page functions only (never
// ipcRenderer itself), and the main process validates every call again. One invoker per
// IPC operation of the map, so the page gets every operation the main process handles.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { DashboardState, RelayBridge } from '../../src-shared/bridge';
import { BRIDGE_OPERATIONS, IPC_OPERATIONS, STATE_EVENT_CHANNEL, type IpcOperation, type Invoker } from '../../src-shared/bridge-operations';

const invokers = Object.fromEntries(
  IPC_OPERATIONS.map((name) => [name, (request?: unknown) => ipcRenderer.invoke(BRIDGE_OPERATIONS[name].channel, request)]),
) as { [N in IpcOperation]: Invoker<N> };

const bridge: RelayBridge = {
  ...invokers,
  subscribe(onState, onStatus) {
    const listener = (_event: IpcRendererEvent, state: DashboardState) => onState(state);
    ipcRenderer.on(STATE_EVENT_CHANNEL, listener);
    // IPC to the relay in the same app never drops like an event stream can: open at once.
    onStatus?.('open');
    return () => {
      ipcRenderer.removeListener(STATE_EVENT_CHANNEL, listener);
    };
  },
};

contextBridge.exposeInMainWorld('relayBridge', bridge);
