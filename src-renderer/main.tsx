// Entry point: picks the bridge and mounts the app. The desktop shell's preload script sets
// window.relayBridge (IPC); a plain browser gets the HTTP + server-sent-events bridge, talking
// to the relay that served this page.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { createHttpBridge } from './bridge-http';
import { createDashboardStore, type DashboardBridge } from './store';
import './styles.css';

function chooseBridge(): DashboardBridge {
  if (window.relayBridge) return window.relayBridge;
  return createHttpBridge({
    fetch: (url, init) => window.fetch(url, init),
    EventSource: window.EventSource,
    location: window.location,
    history: window.history,
    sessionStorage: safeSessionStorage(),
    setTimeout: (fn, ms) => window.setTimeout(fn, ms),
    clearTimeout: (handle) => window.clearTimeout(handle as number | undefined),
  });
}

function safeSessionStorage(): Storage | null {
  try {
    return window.sessionStorage;
  } catch {
    return null; // blocked by the browser's privacy settings
  }
}

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root');
createRoot(root).render(
  <StrictMode>
    <App store={createDashboardStore(chooseBridge())} />
  </StrictMode>,
);
