// The store reaches components through context, so tests or a second window can mount the
// app with their own store and bridge.
import { createContext, useContext } from 'react';
import { useStore } from 'zustand';
import type { DashboardStore, DashboardStoreState } from './store';

export const StoreContext = createContext<DashboardStore | null>(null);

export function useDashboardStore(): DashboardStore {
  const store = useContext(StoreContext);
  if (!store) throw new Error('useDashboard outside <StoreContext.Provider>');
  return store;
}

/** Select a slice; the component re-renders only when that slice changes (by identity). */
export function useDashboard<T>(selector: (s: DashboardStoreState) => T): T {
  return useStore(useDashboardStore(), selector);
}
