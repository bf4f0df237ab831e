// The IPC channel names of the typed bridge (src-shared/bridge.ts has their request and
// response types). Kept free of zod and of any other import: the window's preload script is
// bundled whole into one sandboxed file, and these names are all it needs.

/** Every invoke channel of BridgeChannels, for the code that registers or checks them all. */
export const BRIDGE_CHANNELS = [
  'relay:get-state',
  'relay:get-history',
  'relay:set-kill-switch',
  'relay:update-settings',
  'relay:export-report',
  'relay:save-report',
  'relay:cutover',
] as const;

/** The one channel the main process pushes on: a DashboardState every SNAPSHOT_INTERVAL_MS. */
export const STATE_EVENT_CHANNEL = 'relay:state';
