// `npm run demo`: two reference gateways (A and B) on 127.0.0.1, the relay in parallel mode
// to both with the synthetic source, a summary every few seconds; Ctrl-C stops it all.
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startGateway, type Gateway } from '../../src-gateway/gateway';
import { Relay } from './relay';
import { SettingsStore } from '../settings/settings-store';
import { SyntheticSource } from '../sources/synthetic';
import { createLogger } from '../log/logger';
import { formatStatus } from '../cli/status-format';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'config-dir': { type: 'string' }, 'debug-port': { type: 'string' } }, strict: true });
  // A config dir of its own, so the demo never rewrites the racer's real settings.
  const configDir = values['config-dir'] ?? path.join(os.tmpdir(), 'relay-agent-demo');
  const gateways: Gateway[] = [await startGateway({ name: 'A' }), await startGateway({ name: 'B' })];
  const store = new SettingsStore(configDir);
  const debugPort = values['debug-port'] === undefined ? 8765 : Number(values['debug-port']);
  store.write({
    backends: gateways.map((g) => ({ url: g.url, enabled: true })),
    mode: 'parallel',
    primaryIndex: 0,
    killSwitch: false,
    paritySampleRate: 0.05,
    debugPort,
  });
  const log = createLogger();
  let relay: Relay;
  try {
    relay = await Relay.start({ configDir, env: {}, source: new SyntheticSource(), log });
  } catch (e) {
    if (!/already in use/.test((e as Error).message)) throw e;
    log.warn(`debug port ${debugPort} is taken; using a free port instead`);
    store.write({ ...store.read(), debugPort: 0 });
    relay = await Relay.start({ configDir, env: {}, source: new SyntheticSource(), log });
  }
  const base = `http://127.0.0.1:${relay.debug.port}`;
  const cfg = `--config-dir ${JSON.stringify(configDir)}`;
  process.stdout.write(
    [
      '',
      'Relay Agent demo: synthetic 60 Hz telemetry -> gateways A and B in parallel',
      ...gateways.map((g) => `  gateway ${g.name}: ${g.url}   parity: ${g.httpUrl}/api/dev/diagnostics/parity?sessionId=${relay.builder.sessionId}`),
      `  relay debug:  ${base}/debug/targets   ${base}/debug/parity   ${base}/debug/health`,
      `  dashboard: ${relay.dashboardUrl}`,
      `  config folder: ${configDir}; from another terminal, try:`,
      `    npm run relay -- kill on ${cfg}`,
      `    npm run relay -- kill off ${cfg}`,
      `    npm run relay -- status ${cfg}`,
      `    npm run gateway -- --port 8083 --name C   (then)   npm run relay -- cutover --to ws://127.0.0.1:8083/relay --name C --window 30s ${cfg}`,
      '  Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
  const ticker = setInterval(() => {
    const lines = formatStatus(relay.actions.healthView(), relay.manager.targetsView(), relay.manager.parityView(relay.builder.sessionId));
    const gw = gateways.map((g) => {
      const p = g.parity(relay.builder.sessionId);
      const frames = p ? Object.values(p.streams).reduce((a, s) => a + s.framesIn, 0) : 0;
      return `  gateway ${g.name}: ${frames} frames in, ${g.connections()} connection(s), duplicates ${p?.duplicates ?? 0}, missing ${p?.missing ?? 0}`;
    });
    process.stdout.write(`\n${lines}\n${gw.join('\n')}\n`);
  }, 5000);
  const stop = async (signal: string) => {
    process.stdout.write(`\n${signal}: stopping the relay and both gateways\n`);
    clearInterval(ticker);
    await relay.stop();
    await Promise.all(gateways.map((g) => g.close()));
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((e) => {
  process.stderr.write(`demo failed: ${(e as Error).message}\n`);
  process.exit(1);
});
