// The built CLI's controls against real relays (child processes) and real reference gateways
// on 127.0.0.1: kill and set are applied through the running relay's loopback API and print
// what it confirmed; without a relay for the folder they say so and exit 3; one relay per
// config folder; settings its environment pins are refused; several settings as one change;
// settings that send nowhere are refused unless forced, and then Critical everywhere.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../src-gateway/gateway';
import type { HealthResponse, TargetsResponse } from '../src-shared/debug-api';
import { CliRunner, request, type RunningCli } from './helpers/cli';
import { waitFor } from './helpers/wait';

const cli = new CliRunner();
const gateways: Gateway[] = [];

afterEach(async () => {
  await cli.cleanup();
  await Promise.all(gateways.splice(0).map((g) => g.close()));
});

const DEBUG_LINE = /debug: {4}http:\/\/127\.0\.0\.1:(\d+)\//;
const readConfig = (dir: string): Record<string, unknown> => JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
const escape = (s: string) => s.replace(/[/.()*+?[\]\\^$|{}]/g, '\\$&');

async function gateway(name: string): Promise<Gateway> {
  const g = await startGateway({ name });
  gateways.push(g);
  return g;
}

async function startRelay(dir: string, file: Record<string, unknown> | null, env: Record<string, string> = {}): Promise<{ relay: RunningCli; port: number }> {
  if (file) fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(file));
  const relay = cli.start(['run', '--config-dir', dir], { RELAY_DEBUG_PORT: '0', ...env });
  const port = Number((await relay.waitForStdout(DEBUG_LINE))[1]);
  return { relay, port };
}

const getJson = async <T>(port: number, p: string): Promise<T> => {
  const res = await request(port, p);
  if (res.status !== 200) throw new Error(`${p} answered ${res.status}: ${res.text}`);
  return res.json as T;
};

describe('relay kill', () => {
  it('with a relay running for the folder: cut off and confirmed (connections closed, how fast); aimed at another folder: says no relay runs there, names the one that does, exits 3', async () => {
    const [a, b] = [await gateway('A'), await gateway('B')];
    const dir = cli.tempDir();
    const { relay, port } = await startRelay(dir, { backends: [{ url: a.url, enabled: true }, { url: b.url, enabled: true }], mode: 'parallel' });
    await waitFor('both gateways connected', () => a.connections() === 1 && b.connections() === 1, 5000);

    // The failure: kill on aimed at the wrong folder must not claim an effect.
    const elsewhere = cli.tempDir();
    const missed = await cli.run(['kill', 'on', '--config-dir', elsewhere]);
    expect(missed.code).toBe(3);
    expect(missed.stderr).toContain(`no relay runs for the config folder ${elsewhere}: nothing was cut off now`);
    expect(missed.stderr).toContain(`a relay runs for the config folder ${dir} (pid ${relay.child.pid}, debug port ${port}): add --config-dir "${dir}" to reach it`);
    expect(missed.stdout).toBe('');
    expect(readConfig(elsewhere)).toEqual({ killSwitch: true });
    expect(a.connections() + b.connections()).toBe(2);
    expect((await getJson<HealthResponse>(port, '/debug/health')).killSwitch).toBe(false);

    const started = performance.now();
    const on = await cli.run(['kill', 'on', '--config-dir', dir]);
    const tookMs = performance.now() - started;
    expect(on.code, on.stderr).toBe(0);
    const m = on.stdout.match(new RegExp(`^kill switch ON, confirmed by the relay \\(pid ${relay.child.pid}, config folder ${escape(dir)}\\): 2 backend connection\\(s\\) closed within ([\\d.]+) ms`));
    expect(m, on.stdout).not.toBeNull();
    // Confirmed before the command returned: the relay reports the switch on, and holds no socket.
    const health = await getJson<HealthResponse>(port, '/debug/health');
    expect(health).toMatchObject({ killSwitch: true, status: 'killed' });
    await waitFor('both gateways to see their connection closed', () => a.connections() === 0 && b.connections() === 0, 2000);
    console.log(`cli-controls: relay kill on (built CLI, child process) answered in ${tookMs.toFixed(0)} ms; the relay closed 2 connections within ${m?.[1]} ms`);

    const off = await cli.run(['kill', 'off', '--config-dir', dir]);
    expect(off.code, off.stderr).toBe(0);
    expect(off.stdout).toContain(`kill switch off, confirmed by the relay (pid ${relay.child.pid}, config folder ${dir})`);
    await waitFor('both gateways reconnected', () => a.connections() === 1 && b.connections() === 1, 5000);
  });
});

describe('one relay per config folder', () => {
  it('a second relay on the same folder refuses to start, naming the first, and leaves its files alone; a lock left by a dead relay is taken over', async () => {
    const dir = cli.tempDir();
    const { relay, port } = await startRelay(dir, null);
    const runtime = fs.readFileSync(path.join(dir, 'relay-runtime.json'), 'utf8');
    const secret = fs.readFileSync(path.join(dir, 'dashboard-secret'), 'utf8');
    expect(JSON.parse(runtime)).toMatchObject({ pid: relay.child.pid, debugPort: port, configDir: dir });

    // On another debug port, as the old error suggested: still refused.
    const second = await cli.run(['run', '--config-dir', dir], { RELAY_DEBUG_PORT: '0' });
    expect(second.code).toBe(2);
    expect(second.stderr).toContain(`another relay already runs for the config folder ${dir} (pid ${relay.child.pid}, debug port ${port}`);
    expect(second.stdout).not.toContain('debug:');
    expect(fs.readFileSync(path.join(dir, 'relay-runtime.json'), 'utf8')).toBe(runtime);
    expect(fs.readFileSync(path.join(dir, 'dashboard-secret'), 'utf8')).toBe(secret);
    const status = await cli.run(['status', '--config-dir', dir]);
    expect(status.code, status.stderr).toBe(0);

    relay.child.kill('SIGTERM');
    expect((await relay.waitForExit()).code).toBe(0);
    expect(fs.existsSync(path.join(dir, 'relay-runtime.json'))).toBe(false);

    // A relay killed with -9 leaves its lock: the next one takes it over.
    const stale = cli.tempDir();
    fs.writeFileSync(path.join(stale, 'relay-runtime.json'), JSON.stringify({ pid: 999999, debugPort: 1, startedAt: new Date().toISOString(), version: '0', configDir: stale }));
    const next = await startRelay(stale, null);
    expect(JSON.parse(fs.readFileSync(path.join(stale, 'relay-runtime.json'), 'utf8'))).toMatchObject({ pid: next.relay.child.pid, debugPort: next.port });
  });
});

describe('relay set through the running relay', () => {
  it('refuses a setting the relay\'s environment pins, naming the variable, and changes nothing', async () => {
    const a = await gateway('A');
    const dir = cli.tempDir();
    const { port } = await startRelay(dir, { backends: [{ url: a.url, enabled: true }] }, { RELAY_BACKEND_MODE: 'parallel' });
    const before = fs.readFileSync(path.join(dir, 'config.json'), 'utf8');
    const r = await cli.run(['set', 'RELAY_BACKEND_MODE', 'single', '--config-dir', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('RELAY_BACKEND_MODE is set in the environment of the running relay and overrides the settings file for this run');
    expect(r.stderr).toContain('Nothing was saved');
    expect(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).toBe(before);
    expect((await getJson<TargetsResponse>(port, '/debug/targets')).mode).toBe('parallel');
    // A setting it does not pin goes through, confirmed.
    const rate = await cli.run(['set', 'RELAY_PARITY_SAMPLE_RATE=0.5', '--config-dir', dir]);
    expect(rate.code, rate.stderr).toBe(0);
    expect(rate.stdout).toContain('RELAY_PARITY_SAMPLE_RATE = 0.5: applied and confirmed by the relay');
    expect(readConfig(dir).paritySampleRate).toBe(0.5);
  });

  it('applies several settings as one change: the playbook\'s last step, the backend list with the primary moved', async () => {
    const [a, b] = [await gateway('A'), await gateway('B')];
    const dir = cli.tempDir();
    // After the playbook's step 5: B the primary in single mode, A disabled.
    const { port } = await startRelay(dir, { backends: [{ url: a.url, enabled: false }, { url: b.url, enabled: true }], mode: 'single', primaryIndex: 1 });
    await waitFor('B connected', () => b.connections() === 1, 5000);
    // Alone, the list is refused: the primary index would point past it. The message says what to do.
    const alone = await cli.run(['set', 'RELAY_BACKENDS', b.url, '--config-dir', dir]);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain('RELAY_PRIMARY_INDEX: got "1"');
    expect(alone.stderr).toContain('expected an index from 0 to 0 (1 backends are configured)');
    const both = await cli.run(['set', `RELAY_BACKENDS=${b.url}`, 'RELAY_PRIMARY_INDEX=0', '--config-dir', dir]);
    expect(both.code, both.stderr).toBe(0);
    expect(both.stdout).toContain(`RELAY_BACKENDS = ${b.url}, RELAY_PRIMARY_INDEX = 0: applied and confirmed by the relay`);
    expect(both.stdout).toContain(`now: single mode, 1 backend(s): #0 ${b.url} (primary)`);
    const targets = await getJson<TargetsResponse>(port, '/debug/targets');
    expect(targets.targets.map((t) => [t.url, t.primary, t.state])).toEqual([[b.url, true, 'connected']]);
    expect(targets.removed.map((t) => t.url)).toEqual([a.url]);
    expect(readConfig(dir)).toMatchObject({ primaryIndex: 0, backends: [{ url: b.url, enabled: true }] });
  });

  it('refuses settings that send nowhere (the spec\'s quick rollback after A was disabled); forced, the relay is Critical: telemetry is going nowhere', async () => {
    const [a, b] = [await gateway('A'), await gateway('B')];
    const dir = cli.tempDir();
    const { relay, port } = await startRelay(dir, { backends: [{ url: a.url, enabled: false }, { url: b.url, enabled: true }], mode: 'single', primaryIndex: 1 });
    await waitFor('B connected', () => b.connections() === 1, 5000);
    // A hand edit of the file that sends nowhere is refused by the running relay too: it keeps sending.
    const good = fs.readFileSync(path.join(dir, 'config.json'), 'utf8');
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...JSON.parse(good), primaryIndex: 0 }));
    await waitFor('the relay to log the refusal', () => /settings change ignored[\s\S]*single mode sends to the primary only/.test(relay.stderr), 3000);
    expect((await getJson<TargetsResponse>(port, '/debug/targets')).primaryIndex).toBe(1);
    fs.writeFileSync(path.join(dir, 'config.json'), good);
    // And a relay does not even start on such settings.
    const start = await cli.run(['run', '--config-dir', cli.tempDir()], { RELAY_DEBUG_PORT: '0', RELAY_BACKENDS: a.url, RELAY_TARGETS_ENABLED: '0' });
    expect(start.code).toBe(2);
    expect(start.stderr).toContain('RELAY_TARGETS_ENABLED: got "0" (from environment); expected settings under which an enabled backend receives frames: every backend is disabled');

    const refused = await cli.run(['set', 'RELAY_PRIMARY_INDEX', '0', '--config-dir', dir]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`single mode sends to the primary only, and the primary, backend #0 ${a.url}, is disabled`);
    expect(refused.stderr).toContain('relay set --force');
    expect(readConfig(dir).primaryIndex).toBe(1);

    const forced = await cli.run(['set', 'RELAY_PRIMARY_INDEX', '0', '--force', '--config-dir', dir]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(readConfig(dir)).toMatchObject({ primaryIndex: 0, allowNoDelivery: true });
    const health = await getJson<HealthResponse>(port, '/debug/health');
    expect(health.status).toBe('critical');
    expect(health.reasons[0]).toMatch(/^telemetry is going nowhere: single mode sends to the primary only/);
    const status = await cli.run(['status', '--config-dir', dir]);
    expect(status.stdout).toMatch(/: CRITICAL/);
    expect(status.stdout).toContain('! telemetry is going nowhere');
    // Put right: delivers again, and the force is gone from the file.
    const fixed = await cli.run(['set', 'RELAY_PRIMARY_INDEX=1', '--config-dir', dir]);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(readConfig(dir)).not.toHaveProperty('allowNoDelivery');
    expect((await getJson<HealthResponse>(port, '/debug/health')).reasons.join('\n')).not.toContain('going nowhere');
  });
});

describe('relay cutover and relay rollback', () => {
  it('run the guided cutover in the relay and print each step as it is confirmed; rollback undoes the last step', async () => {
    const [a, b] = [await gateway('A'), await gateway('B')];
    const dir = cli.tempDir();
    const { port } = await startRelay(dir, { backends: [{ url: a.url, enabled: true }], mode: 'single', paritySampleRate: 0.2 });
    await waitFor('A connected', () => a.connections() === 1, 5000);
    const run = await cli.run(['cutover', '--to', b.url, '--name', 'Gateway B', '--window', '1s', '--remove', '--config-dir', dir], {}, 40_000);
    expect(run.code, run.stderr + run.stdout).toBe(0);
    for (const step of ['add: confirmed', 'parallel: confirmed', 'hold: confirmed', 'primary: confirmed', 'single: confirmed', 'disable: confirmed', 'remove: confirmed']) expect(run.stdout).toContain(step);
    expect(run.stdout).toMatch(/cutover completed: telemetry goes to Gateway B/);
    expect(run.stdout).toContain('COMPLETED');
    const targets = await getJson<TargetsResponse>(port, '/debug/targets');
    expect(targets.targets.map((t) => [t.url, t.name, t.primary])).toEqual([[b.url, 'Gateway B', true]]);

    const status = await cli.run(['cutover', 'status', '--config-dir', dir]);
    expect(status.stdout).toMatch(/^cutover from .* to Gateway B: COMPLETED/);
    const back = await cli.run(['rollback', '--config-dir', dir], {}, 40_000);
    expect(back.code, back.stderr + back.stdout).toBe(0);
    expect(back.stdout).toContain('remove: undone: settings restored as they were before "Remove the old backend"');
    expect(back.stdout).toContain('paused: relay cutover resume goes on');
    expect((await getJson<TargetsResponse>(port, '/debug/targets')).targets.map((t) => [t.url, t.enabled])).toEqual([
      [a.url, false],
      [b.url, true],
    ]);
    const bad = await cli.run(['cutover', '--to', 'http://nope', '--window', '3 fortnights', '--config-dir', dir]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--window: got "3 fortnights"; expected a duration from 1 s to 24 h, such as 2m, 90s or 1m30s');
  });
});

describe('help and errors in words', () => {
  it('gives each command its own help, suggests the command or option meant, and says which command an option belongs to', async () => {
    const [set, kill, cutover, slip, option, misplaced, help] = await Promise.all([
      cli.run(['set', '--help']),
      cli.run(['kill', '--help']),
      cli.run(['help', 'cutover']),
      cli.run(['stauts']),
      cli.run(['report', '--otu', 'x']),
      cli.run(['status', '--out', 'x']),
      cli.run(['--help']),
    ]);
    expect(set.code).toBe(0);
    expect(set.stdout).toContain('relay set NAME=VALUE [NAME=VALUE ...] [--force]');
    // Every setting, with what it means.
    for (const line of ['RELAY_QUEUE_MAX_FRAMES (default 2000)', 'RELAY_SHARE_PERSONAL_DATA (default 0)', 'RELAY_BACKEND_NAMES', 'per backend, the most frames held']) expect(set.stdout).toContain(line);
    expect(kill.stdout).toContain('relay kill on|off');
    expect(kill.stdout).not.toContain('RELAY_QUEUE_MAX_FRAMES');
    expect(cutover.stdout).toContain('--window <time>');
    expect(slip.code).toBe(2);
    expect(slip.stderr).toContain('unknown command "stauts"; did you mean "status"?');
    expect(option.code).toBe(2);
    expect(option.stderr).toContain('unknown option --otu; did you mean --out?');
    expect(misplaced.stderr).toContain('--out does not apply to status; it is an option of relay report');
    for (const word of ['ibt:<file.ibt>', 'iracing', '--speed', '--loop', 'relay cutover', 'relay rollback']) expect(help.stdout).toContain(word);
  });
});
