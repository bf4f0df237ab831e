/// <reference types="vite/client" />
import type { RelayBridge } from '../src-shared/bridge';

declare global {
  interface Window {
    /** Set by the desktop shell's preload script: the IPC implementation of the bridge. */
    relayBridge?: RelayBridge & { readonly readOnly?: boolean };
  }
}
