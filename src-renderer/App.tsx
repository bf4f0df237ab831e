import { useEffect } from 'react';
import { StoreContext, useDashboard } from './context';
import type { DashboardStore } from './store';
import { BackendsEditor } from './components/BackendsEditor';
import { CutoverPanel } from './components/CutoverPanel';
import { KillBanner, KillSwitch } from './components/KillSwitch';
import { LatencyCharts } from './components/LatencyCharts';
import { ModeControls } from './components/ModeControls';
import { ParityPanel } from './components/ParityPanel';
import { SettingsPanel } from './components/SettingsPanel';
import { Banners, StatusBar } from './components/StatusBar';
import { Targets } from './components/Targets';
import { Timeline } from './components/Timeline';

export function App({ store }: { store: DashboardStore }) {
  useEffect(() => store.getState().start(), [store]);
  return (
    <StoreContext.Provider value={store}>
      <Dashboard />
    </StoreContext.Provider>
  );
}

function Dashboard() {
  const loaded = useDashboard((s) => s.state !== null);
  return (
    <>
      <StatusBar />
      <main className="layout">
        <KillSwitch />
        <KillBanner />
        <Banners />
        {loaded ? (
          <>
            <ModeControls />
            <Targets />
            <LatencyCharts />
            <ParityPanel />
            <CutoverPanel />
            <BackendsEditor />
            <SettingsPanel />
            <Timeline />
          </>
        ) : (
          <p className="loading" role="status">
            Waiting for the relay…
          </p>
        )}
      </main>
    </>
  );
}
