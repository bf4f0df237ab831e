// The preload script of the dashboard window: the IPC implementation of the typed bridge,
// exposed to the page through contextBridge. It runs sandboxed (bundled to one CommonJS
// file: a sandboxed preload cannot load modules), hands the page functions only (never
// ipcRenderer itself), and the main process validates every call again.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { BridgeChannel, BridgeChannels, DashboardState, RelayBridge } from '../../src-shared/bridge';
import { STATE_EVENT_CHANNEL } from '../../src-shared/ipc-channels';

function invoke<C extends BridgeChannel>(channel: C, request?: BridgeChannels[C]['request']): Promise<BridgeChannels[C]['response']> {
  return ipcRenderer.invoke(channel, request) as Promise<BridgeChannels[C]['response']>;
}

const bridge: RelayBridge = {
  getState: () => invoke('relay:get-state'),
  getHistory: () => invoke('relay:get-history'),
  subscribe(onState, onStatus) {
    const listener = (_event: IpcRendererEvent, state: DashboardState) => onState(state);
    ipcRenderer.on(STATE_EVENT_CHANNEL, listener);
    // IPC to the relay in the same app never drops like an event stream can: open at once.
    onStatus?.('open');
    return () => {
      ipcRenderer.removeListener(STATE_EVENT_CHANNEL, listener);
    };
  },
  setKillSwitch: (on) => invoke('relay:set-kill-switch', { on }),
  updateSettings: (update) => invoke('relay:update-settings', update),
  exportReport: () => invoke('relay:export-report'),
  saveReport: () => invoke('relay:save-report'),
  cutover: (request) => invoke('relay:cutover', request),
};

contextBridge.exposeInMainWorld('relayBridge', bridge);
