// Where the relay keeps its settings by default. Its own module (node built-ins only), so the
// CLI's fast path (`relay kill on`) finds the folder without loading the settings store.
import os from 'node:os';
import path from 'node:path';

/**
 * The platform's user config dir for this app, the same folder Electron's
 * app.getPath('userData') gives an app named relay-agent, so both shells share one file.
 */
export function defaultConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  const name = 'relay-agent';
  if (process.platform === 'win32') return path.join(env.APPDATA ?? path.join(os.homedir(), 'AppData', 'Roaming'), name);
  if (process.platform === 'darwin') return path.join(os.homedir(), 'Library', 'Application Support', name);
  return path.join(env.XDG_CONFIG_HOME ?? path.join(os.homedir(), '.config'), name);
}
