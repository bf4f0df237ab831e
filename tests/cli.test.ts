// The real headless CLI, run as child processes: bad settings stop it before it connects
// anywhere (exit 2, one line per problem), set/kill write the settings file, a running relay
// applies changes from another process live, status reads its debug server, and the debug
// server answers only on 127.0.0.1 with the right Host header.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../src-gateway/gateway';
import type { HealthResponse, TargetsResponse } from '../src-shared/debug-api';
import { CliRunner, connectionCounter, freePort, nonLoopbackIPv4, request, tryConnect, type RunningCli } from './helpers/cli';
import { waitFor } from './helpers/wait';

const cli = new CliRunner();
const gateways: Gateway[] = [];
const closers: (() => Promise<void>)[] = [];

afterEach(async () => {
  await cli.cleanup();
  await Promise.all(closers.splice(0).map((c) => c()));
  await Promise.all(gateways.splice(0).map((g) => g.close()));
});

const DEBUG_LINE = /debug: {4}http:\/\/127\.0\.0\.1:(\d+)\//;

const readConfig = (dir: string): unknown => JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));

/** The lines of a bad-settings report, one per problem. */
const problemLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('  - '));

async function startRelay(configDir: string, env: Record<string, string> = {}): Promise<{ relay: RunningCli; port: number }> {
  const relay = cli.start(['run', '--config-dir', configDir], { RELAY_DEBUG_PORT: '0', ...env });
  const m = await relay.waitForStdout(DEBUG_LINE);
  return { relay, port: Number(m[1]) };
}

const getJson = async <T>(port: number, p: string): Promise<T> => {
  const res = await request(port, p);
  if (res.status !== 200) throw new Error(`${p} answered ${res.status}: ${res.text}`);
  return res.json as T;
};

describe('bad settings stop the relay before it connects anywhere', () => {
  it('exits 2 with one line per problem, naming variable, value and expectation, and opens no connection', async () => {
    const backend = await connectionCounter();
    closers.push(backend.close);
    const dir = cli.tempDir();
    const several = cli.run(['run', '--config-dir', dir], {
      RELAY_BACKENDS: `ws://127.0.0.1:${backend.port}/relay,http://x`,
      RELAY_BACKEND_MODE: 'bogus',
      RELAY_PARITY_SAMPLE_RATE: '2',
      RELAY_DEBUG_PORT: '0',
    });
    // Only one thing wrong, and the backend URL itself is valid: still nothing connects.
    const one = cli.run(['run', '--config-dir', cli.tempDir()], {
      RELAY_BACKENDS: `ws://127.0.0.1:${backend.port}/relay`,
      RELAY_PRIMARY_INDEX: '5',
      RELAY_DEBUG_PORT: '0',
    });
    const [r, r1] = await Promise.all([several, one]);

    expect(r.code, r.stderr).toBe(2);
    const lines = problemLines(r.stderr);
    expect(lines, r.stderr).toHaveLength(3);
    const line = (v: string) => lines.find((l) => l.startsWith(`  - ${v}: `)) ?? `(no line for ${v})`;
    expect(line('RELAY_BACKENDS')).toContain('got "http://x"');
    expect(line('RELAY_BACKENDS')).toContain('expected comma-separated ws:// or wss:// URLs');
    expect(line('RELAY_BACKEND_MODE')).toContain('got "bogus"');
    expect(line('RELAY_BACKEND_MODE')).toContain('expected "single" or "parallel"');
    expect(line('RELAY_PARITY_SAMPLE_RATE')).toContain('got "2"');
    expect(line('RELAY_PARITY_SAMPLE_RATE')).toContain('expected a fraction from 0 to 1');
    expect(r.stderr).toContain('bad settings, nothing was started');
    expect(r.stdout).not.toContain('debug:');

    expect(r1.code, r1.stderr).toBe(2);
    expect(problemLines(r1.stderr)).toEqual([expect.stringContaining('RELAY_PRIMARY_INDEX: got "5" (from environment); expected an index from 0 to 0')]);

    // The children have exited; give a stray connection time to land before counting.
    await new Promise((res) => setTimeout(res, 100));
    expect(backend.connections()).toBe(0);
    // Nothing was written either: no runtime file, no settings file.
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('never prints a secret of a backend URL in its report', async () => {
    const r = await cli.run(['run', '--config-dir', cli.tempDir()], {
      RELAY_BACKENDS: 'ws://user:pass@127.0.0.1:1/relay?token=abc,ws://user:pass@127.0.0.1:1/relay?token=abc',
      RELAY_DEBUG_PORT: '0',
    });
    expect(r.code).toBe(2);
    expect(problemLines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toContain('RELAY_BACKENDS');
    for (const secret of ['user:pass', 'pass@', 'token=abc']) expect(r.stderr).not.toContain(secret);
  });

  it('exits 2 on a bad settings file: invalid JSON, or a key with a bad value', async () => {
    const invalid = cli.tempDir();
    fs.writeFileSync(path.join(invalid, 'config.json'), '{"mode": "parallel",');
    const badKey = cli.tempDir();
    fs.writeFileSync(path.join(badKey, 'config.json'), JSON.stringify({ mode: 'bogus', debugPort: 70000 }));
    const backend = await connectionCounter();
    closers.push(backend.close);
    const env = { RELAY_BACKENDS: `ws://127.0.0.1:${backend.port}/relay`, RELAY_DEBUG_PORT: '0' };
    const [r1, r2, r3] = await Promise.all([
      cli.run(['run', '--config-dir', invalid], env),
      cli.run(['run', '--config-dir', badKey], env),
      cli.run(['config', '--config-dir', invalid]),
    ]);
    expect(r1.code, r1.stderr).toBe(2);
    expect(r1.stderr).toContain(path.join(invalid, 'config.json'));
    expect(r1.stderr).toContain('not valid JSON');
    expect(r3.code).toBe(2);
    expect(r3.stderr).toContain(path.join(invalid, 'config.json'));

    expect(r2.code, r2.stderr).toBe(2);
    const lines = problemLines(r2.stderr);
    expect(lines).toHaveLength(2);
    expect(r2.stderr).toContain('RELAY_BACKEND_MODE: got "bogus" (from settings file key "mode"); expected "single" or "parallel"');
    expect(r2.stderr).toContain('RELAY_DEBUG_PORT: got "70000" (from settings file key "debugPort"); expected a TCP port');

    await new Promise((res) => setTimeout(res, 100));
    expect(backend.connections()).toBe(0);
    // The broken file is left as it was, for the operator to fix.
    expect(fs.readFileSync(path.join(invalid, 'config.json'), 'utf8')).toBe('{"mode": "parallel",');
  });
});

describe('with no relay running, set and kill write the settings file for the next start (exit 3)', () => {
  it('set writes the value, by variable name or key; bad values exit 2 and leave the file alone', async () => {
    const dir = cli.tempDir();
    const r1 = await cli.run(['set', 'RELAY_BACKEND_MODE', 'parallel', '--config-dir', dir]);
    expect(r1.code, r1.stderr).toBe(3);
    expect(r1.stderr).toContain(`no relay runs for the config folder ${dir}: nothing was applied now. RELAY_BACKEND_MODE = parallel saved in ${path.join(dir, 'config.json')}`);
    expect(readConfig(dir)).toEqual({ mode: 'parallel' });

    const r2 = await cli.run(['set', 'RELAY_BACKENDS', 'ws://user:pass@127.0.0.1:1/relay?token=abc,ws://127.0.0.1:2/relay', '--config-dir', dir]);
    expect(r2.code, r2.stderr).toBe(3);
    expect(readConfig(dir)).toEqual({
      mode: 'parallel',
      backends: [
        { url: 'ws://user:pass@127.0.0.1:1/relay?token=abc', enabled: true },
        { url: 'ws://127.0.0.1:2/relay', enabled: true },
      ],
    });
    for (const secret of ['user:pass', 'token=abc']) expect(r2.stdout + r2.stderr).not.toContain(secret);

    const before = fs.readFileSync(path.join(dir, 'config.json'), 'utf8');
    const rejected = await Promise.all([
      cli.run(['set', 'RELAY_BACKEND_MODE', 'bogus', '--config-dir', dir]),
      cli.run(['set', 'RELAY_PARITY_SAMPLE_RATE', '2', '--config-dir', dir]),
      cli.run(['set', 'primaryIndex', '2', '--config-dir', dir]),
      cli.run(['set', 'RELAY_TARGET_TIMEOUT_MS', '12abc', '--config-dir', dir]),
      cli.run(['set', 'RELAY_BOGUS', '1', '--config-dir', dir]),
      cli.run(['set', 'RELAY_BACKEND_MODE', '--config-dir', dir]),
    ]);
    const [mode, rate, primary, timeout, unknown, missing] = rejected;
    for (const r of rejected) expect(r.code, r.stderr).toBe(2);
    expect(mode?.stderr).toContain('RELAY_BACKEND_MODE: got "bogus" (from command line); expected "single" or "parallel"');
    expect(rate?.stderr).toContain('RELAY_PARITY_SAMPLE_RATE: got "2" (from command line); expected a fraction from 0 to 1');
    expect(primary?.stderr).toContain('RELAY_PRIMARY_INDEX: got "2" (from command line); expected an index from 0 to 1');
    expect(timeout?.stderr).toContain('RELAY_TARGET_TIMEOUT_MS: got "12abc"');
    expect(unknown?.stderr).toContain('RELAY_BOGUS');
    expect(unknown?.stderr).toContain('expected a setting name');
    expect(missing?.stderr).toContain('Usage:');
    expect(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).toBe(before);
  });

  it('kill on|off writes killSwitch; kill maybe exits 2 and changes nothing', async () => {
    const dir = cli.tempDir();
    const on = await cli.run(['kill', 'on', '--config-dir', dir]);
    expect(on.code, on.stderr).toBe(3);
    // Never "every backend is cut off" when no relay was there to cut anything off.
    expect(on.stderr).toContain(`no relay runs for the config folder ${dir}: nothing was cut off now. The kill switch is saved ON in ${path.join(dir, 'config.json')}`);
    expect(on.stdout + on.stderr).not.toMatch(/every backend is cut off|confirmed/);
    expect(readConfig(dir)).toEqual({ killSwitch: true });
    const [maybe, nothing] = await Promise.all([cli.run(['kill', 'maybe', '--config-dir', dir]), cli.run(['kill', '--config-dir', dir])]);
    expect(maybe.code).toBe(2);
    expect(maybe.stderr).toContain('kill: got "maybe"; expected "on" or "off"');
    expect(nothing.code).toBe(2);
    expect(readConfig(dir)).toEqual({ killSwitch: true });
    const off = await cli.run(['kill', 'off', '--config-dir', dir]);
    expect(off.code, off.stderr).toBe(3);
    expect(readConfig(dir)).toEqual({ killSwitch: false });
  });

  it('an unknown command or flag exits 2 with the usage; --help exits 0', async () => {
    const dir = cli.tempDir();
    const [command, flag, help] = await Promise.all([
      cli.run(['frobnicate', '--config-dir', dir]),
      cli.run(['status', '--bogus', '--config-dir', dir]),
      cli.run(['--help']),
    ]);
    expect(command.code).toBe(2);
    expect(command.stderr).toContain('unknown command "frobnicate"');
    expect(command.stderr).toContain('Usage:');
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain('--bogus');
    expect(flag.stderr).toContain('Usage:');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage:');
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

describe('status with no relay running', () => {
  it('exits 3 and says that no relay runs for that config folder, or that the one that ran there is gone', async () => {
    const port = await freePort();
    const fresh = cli.tempDir();
    // A runtime file left behind by a relay that died.
    const stale = cli.tempDir();
    fs.writeFileSync(path.join(stale, 'relay-runtime.json'), JSON.stringify({ pid: 999999, debugPort: port, startedAt: new Date().toISOString(), version: '0' }));
    const [r1, r2] = await Promise.all([
      cli.run(['status', '--config-dir', fresh], { RELAY_DEBUG_PORT: String(port) }),
      cli.run(['status', '--config-dir', stale]),
    ]);
    expect(r1.code).toBe(3);
    expect(r1.stderr).toContain(`no relay runs for the config folder ${fresh}, so there is no status to show`);
    expect(r2.code).toBe(3);
    expect(r2.stderr).toContain(`no relay runs for the config folder ${stale} (the relay that ran there, pid 999999, is gone without cleaning up)`);
  });
});

describe('a running relay', () => {
  it('reports status, applies kill on / set / kill off from other processes live, and exits 0 on SIGTERM', async () => {
    const a = await startGateway({ name: 'A' });
    gateways.push(a);
    const b = await startGateway({ name: 'B' });
    gateways.push(b);
    const dir = cli.tempDir();
    const { relay, port } = await startRelay(dir, { RELAY_BACKENDS: `${a.url},${b.url}` });
    expect(relay.stdout).toContain('single mode');
    expect(fs.existsSync(path.join(dir, 'relay-runtime.json'))).toBe(true);
    await waitFor('the relay to connect to its primary, A', () => a.connections() === 1, 10_000);
    expect(b.connections()).toBe(0);

    // status: a second process, the same config dir, named.
    const st = await cli.run(['status', '--config-dir', dir]);
    expect(st.code, st.stderr).toBe(0);
    expect(st.stdout).toContain(`config folder ${dir} (relay pid ${relay.child.pid})`);
    expect(st.stdout).toContain('mode single, primary #0');
    expect(st.stdout).toMatch(new RegExp(`\\* #0 ${a.url.replace(/[/.]/g, '\\$&')} {2}connected`));
    // A backend standing by is not "healthy": it is not sending.
    expect(st.stdout).toMatch(new RegExp(`#1 ${b.url.replace(/[/.]/g, '\\$&')} {2}standby.*not sending$`, 'm'));
    // Delivered means confirmed by the gateway; the parity verdict comes from the relay.
    expect(st.stdout).toMatch(/delivered \d+ \(confirmed\) {2}in flight \d+ {2}queued \d+ {2}dropped \d+ {2}lost 0/);
    expect(st.stdout).toMatch(/^parity (healthy|no-data|warning|critical)/m);
    expect(st.stdout).not.toContain('Kill Switch Active');

    // kill on, from another process: through the relay's loopback API, confirmed before the command returns.
    const health = () => getJson<HealthResponse>(port, '/debug/health');
    const kill = await cli.run(['kill', 'on', '--config-dir', dir]);
    expect(kill.code, kill.stderr).toBe(0);
    expect(kill.stdout).toMatch(new RegExp(`^kill switch ON, confirmed by the relay \\(pid ${relay.child.pid}, config folder ${dir.replace(/[/.]/g, '\\$&')}\\): 1 backend connection\\(s\\) closed within [\\d.]+ ms`));
    expect(readConfig(dir)).toMatchObject({ killSwitch: true });
    const h = await health();
    expect(h.killSwitch).toBe(true);
    expect(h.message).toContain('Kill Switch Active');
    await waitFor('A to lose its connection', () => a.connections() === 0, 3000);
    const killedStatus = await cli.run(['status', '--config-dir', dir]);
    expect(killedStatus.code).toBe(0);
    expect(killedStatus.stdout).toContain('Kill Switch Active');

    // set, from another process: applied and confirmed, in /debug/targets when the command returns.
    const set = await cli.run(['set', 'RELAY_BACKEND_MODE', 'parallel', '--config-dir', dir]);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain(`RELAY_BACKEND_MODE = parallel: applied and confirmed by the relay (pid ${relay.child.pid}, config folder ${dir})`);
    expect(set.stdout).toMatch(/^now: KILL SWITCH ON, parallel mode, 2 backend\(s\)/m);
    const targets = await getJson<TargetsResponse>(port, '/debug/targets');
    expect(targets.mode).toBe('parallel');
    expect(targets.killSwitch).toBe(true);
    expect(targets.targets.map((t) => t.state)).toEqual(['killed', 'killed']);
    expect(a.connections() + b.connections()).toBe(0);

    // kill off: both gateways get a connection again, by themselves.
    const off = await cli.run(['kill', 'off', '--config-dir', dir]);
    expect(off.code, off.stderr).toBe(0);
    expect(off.stdout).toContain('kill switch off, confirmed by the relay');
    expect((await health()).killSwitch).toBe(false);
    await waitFor('both gateways to be connected in parallel mode', () => a.connections() === 1 && b.connections() === 1, 5000);

    // A hand edit of the settings file still applies live: measured from the write to the relay saying so.
    const single = waitFor('/debug/targets to say single', async () => (await getJson<TargetsResponse>(port, '/debug/targets')).mode === 'single' && performance.now(), 10_000);
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...(readConfig(dir) as object), mode: 'single' }));
    const editSeenAt = await single;
    const editDelay = performance.timeOrigin + editSeenAt - fs.statSync(path.join(dir, 'config.json')).mtimeMs;
    console.log(`cli: running relay applied a hand edit of the settings file ${editDelay.toFixed(0)} ms after it was written (claim: 200 ms; polled every 10 ms)`);
    expect(editDelay).toBeLessThan(1000);

    relay.child.kill('SIGTERM');
    const exit = await relay.waitForExit(10_000);
    expect(exit.signal).toBeNull();
    expect(exit.code, exit.stderr).toBe(0);
    expect(fs.existsSync(path.join(dir, 'relay-runtime.json'))).toBe(false);
    await waitFor('the gateways to see the relay go', () => a.connections() === 0 && b.connections() === 0, 3000);
  });
});

describe('the kill switch is never blocked by an unrelated bad setting', () => {
  it('kill on writes the switch into a broken file, and a running relay applies it alone', async () => {
    const a = await startGateway({ name: 'A' });
    gateways.push(a);
    const dir = cli.tempDir();
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ backends: [{ url: a.url, enabled: true }] }));
    const { port } = await startRelay(dir);
    await waitFor('connected to A', () => a.connections() === 1, 10_000);
    // Someone breaks an unrelated setting by hand; the relay keeps the last good settings.
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ backends: [{ url: a.url, enabled: true }], mode: 'sideways' }));
    const kill = await cli.run(['kill', 'on', '--config-dir', dir]);
    expect(kill.code, kill.stderr).toBe(0);
    expect(kill.stdout).toContain('kill switch ON, confirmed by the relay');
    expect(kill.stdout).toContain('RELAY_BACKEND_MODE');
    expect(readConfig(dir)).toMatchObject({ killSwitch: true, mode: 'sideways' });
    expect((await getJson<HealthResponse>(port, '/debug/health')).killSwitch).toBe(true);
    await waitFor('A to lose its connection', () => a.connections() === 0, 3000);
    expect((await getJson<TargetsResponse>(port, '/debug/targets')).mode).toBe('single');
  });
});

describe('the debug server', () => {
  // One relay (no backends) serves every check of this block; it is killed after the block.
  const own = new CliRunner();
  let port = 0;
  let configDir = '';
  let running: RunningCli;
  beforeAll(async () => {
    configDir = own.tempDir();
    running = own.start(['run', '--config-dir', configDir], { RELAY_DEBUG_PORT: '0' });
    port = Number((await running.waitForStdout(DEBUG_LINE))[1]);
    await waitFor('the debug server to answer', async () => (await request(port, '/debug/health')).status === 200, 10_000);
  });
  afterAll(() => own.cleanup());

  it('prints the dashboard URL with the per-run secret, which is also in a file only the user can read', async () => {
    const m = await running.waitForStdout(/ {2}dashboard: http:\/\/127\.0\.0\.1:(\d+)\/#secret=([A-Za-z0-9_-]+)\n/);
    expect(Number(m[1])).toBe(port);
    const file = path.join(configDir, 'dashboard-secret');
    expect(fs.readFileSync(file, 'utf8').trim()).toBe(m[2]);
    if (process.platform !== 'win32') expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const usage = await own.run(['--help']);
    expect(usage.stdout).toContain('relay report [--out <file>]');
  });

  it('answers 403 to a Host header other than 127.0.0.1:<port> or localhost:<port>', async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`]) {
      const res = await request(port, '/debug/health', { host });
      expect(res.status, host).toBe(200);
      expect(res.json).toMatchObject({ status: expect.any(String), killSwitch: false, mode: 'single', version: expect.any(String) });
    }
    for (const host of [`evil.example:${port}`, 'evil.example', `127.0.0.1:${port + 1}`, 'localhost', '127.0.0.1', `localhost.evil.example:${port}`]) {
      const res = await request(port, '/debug/targets', { host });
      expect(res.status, host).toBe(403);
      expect(res.text).not.toContain('"targets"');
    }
  });

  it('sends no CORS headers, even when asked from a web page', async () => {
    const res = await request(port, '/debug/health', { headers: { origin: 'http://evil.example' } });
    expect(res.status).toBe(200);
    expect(Object.keys(res.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
  });

  it('answers 405 to methods other than GET, and 404 with a JSON body to unknown paths', async () => {
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const res = await request(port, '/debug/health', { method });
      expect(res.status, method).toBe(405);
      expect(res.headers.allow).toBe('GET');
    }
    // `/` is the dashboard now (tests/dashboard-api.test.ts); every other unknown path is still 404 JSON.
    for (const p of ['/nope', '/debug', '/debug/health/extra', '/api/nope']) {
      const res = await request(port, p);
      expect(res.status, p).toBe(404);
      expect(res.headers['content-type']).toContain('application/json');
      expect(res.json, res.text).toMatchObject({ error: expect.stringContaining(p) });
    }
  });

  it('listens on 127.0.0.1 only', async () => {
    expect(await tryConnect('127.0.0.1', port)).toBe('connected');
    // Linux routes all of 127/8 to lo: a server bound to 0.0.0.0 would accept on 127.0.0.2.
    if (process.platform === 'linux') expect(await tryConnect('127.0.0.2', port)).not.toBe('connected');
    expect(await tryConnect('::1', port)).not.toBe('connected');
  });

  const external = nonLoopbackIPv4();
  it.skipIf(!external)(
    external ? `refuses connections on this machine's network address ${external}` : "refuses connections on a network address: SKIPPED, this machine has no non-loopback IPv4 address",
    async () => {
      expect(await tryConnect(external as string, port)).not.toBe('connected');
    },
  );
});

describe('the kill switch fails safe', () => {
  const health = async (port: number) => getJson<HealthResponse>(port, '/debug/health');
  const write = (dir: string, value: unknown) => fs.writeFileSync(path.join(dir, 'config.json'), typeof value === 'string' ? value : JSON.stringify(value));

  it('a running relay turns the kill switch on from any broken file that asks for it, or whose value cannot be read as off', async () => {
    const a = await startGateway({ name: 'A' });
    gateways.push(a);
    const dir = cli.tempDir();
    const good = { backends: [{ url: a.url, enabled: true }] };
    write(dir, good);
    const { relay, port } = await startRelay(dir);
    await waitFor('connected to A', () => a.connections() === 1, 10_000);

    const cases: [string, unknown][] = [
      ['killSwitch "1" beside a bad mode', { ...good, killSwitch: '1', mode: 'sideways' }],
      ['killSwitch 1 beside a bad port', { ...good, killSwitch: 1, debugPort: 70000 }],
      ['killSwitch "yes" beside a bad mode', { ...good, killSwitch: 'yes', mode: 'sideways' }],
      ['killSwitch "maybe" alone', { ...good, killSwitch: 'maybe' }],
      ['a file that is not JSON, with killSwitch true in it', `{"backends": [{"url": "${a.url}", "enabled": true}], "killSwitch": true, "mode": }`],
      ['a near miss of the key, kilSwitch: true', { ...good, kilSwitch: true }],
    ];
    for (const [name, file] of cases) {
      write(dir, file);
      await waitFor(`the kill switch on after ${name}`, async () => (await health(port)).killSwitch === true, 3000);
      await waitFor(`A cut off after ${name}`, () => a.connections() === 0, 3000);
      // A good file with the kill switch off brings the backend back for the next case.
      write(dir, good);
      await waitFor(`the kill switch off again after ${name}`, async () => (await health(port)).killSwitch === false, 3000);
      await waitFor(`A connected again after ${name}`, () => a.connections() === 1, 5000);
    }
    expect(relay.stderr).toContain('counts as ON');
    expect(relay.stderr).toContain("unknown setting 'kilSwitch'; did you mean 'killSwitch'?");
    expect(relay.stderr).toContain('applying the kill switch alone');
  });

  it('starts with the kill switch on when the file says "1", and never connects', async () => {
    const backend = await connectionCounter();
    closers.push(backend.close);
    const dir = cli.tempDir();
    write(dir, { backends: [{ url: `ws://127.0.0.1:${backend.port}/relay`, enabled: true }], killSwitch: '1' });
    const { port } = await startRelay(dir);
    expect((await health(port)).killSwitch).toBe(true);
    await new Promise((res) => setTimeout(res, 300));
    expect(backend.connections()).toBe(0);
  });

  it('kill on replaces a settings file that is not JSON, keeping the broken one beside it', async () => {
    const dir = cli.tempDir();
    const broken = '{"backends": [{"url": "ws://127.0.0.1:1/relay", "token": "tok-secret"}], "mode": ';
    write(dir, broken);
    const on = await cli.run(['kill', 'on', '--config-dir', dir]);
    expect(on.code, on.stderr).toBe(3);
    expect(readConfig(dir)).toEqual({ killSwitch: true });
    const kept = fs.readdirSync(dir).filter((f) => f.startsWith('config.json.broken-'));
    expect(kept).toHaveLength(1);
    expect(fs.readFileSync(path.join(dir, kept[0] as string), 'utf8')).toBe(broken);
    if (process.platform !== 'win32') expect(fs.statSync(path.join(dir, kept[0] as string)).mode & 0o077).toBe(0);
    expect(on.stderr).toContain(kept[0]);
    expect(on.stdout + on.stderr).not.toContain('tok-secret');
    // Turning it off needs a file that can be read: nothing is replaced for that.
    write(dir, broken);
    const off = await cli.run(['kill', 'off', '--config-dir', dir]);
    expect(off.code).toBe(2);
    expect(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).toBe(broken);
  });
});

describe('relay set and kill: the kill switch, unknown names, the backend cap', () => {
  it('set killSwitch takes any value meaning on or off, even beside a bad setting; a value that is neither changes nothing', async () => {
    const dir = cli.tempDir();
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ mode: 'sideways' }));
    const on = await cli.run(['set', 'killSwitch', 'yes', '--config-dir', dir]);
    expect(on.code, on.stderr).toBe(3);
    expect(readConfig(dir)).toEqual({ mode: 'sideways', killSwitch: true });
    expect(on.stderr).toContain('RELAY_BACKEND_MODE');
    const maybe = await cli.run(['set', 'RELAY_KILL_SWITCH', 'maybe', '--config-dir', dir]);
    expect(maybe.code).toBe(2);
    expect(maybe.stderr).toContain('RELAY_KILL_SWITCH: got "maybe" (from command line)');
    expect(readConfig(dir)).toEqual({ mode: 'sideways', killSwitch: true });
    const off = await cli.run(['set', 'RELAY_KILL_SWITCH', 'off', '--config-dir', dir]);
    expect(off.code, off.stderr).toBe(3);
    expect(readConfig(dir)).toEqual({ mode: 'sideways', killSwitch: false });
  });

  it('an unknown name for set is refused with the nearest known one; unknown keys in the file are printed as warnings', async () => {
    const dir = cli.tempDir();
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ mdoe: 'parallel' }));
    const [typo, set, kill] = await Promise.all([
      cli.run(['set', 'kilSwitch', '1', '--config-dir', dir]),
      cli.run(['set', 'RELAY_DEBUG_PORT', '9999', '--config-dir', dir]),
      cli.run(['kill', 'off', '--config-dir', cli.tempDir()]),
    ]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("unknown setting 'kilSwitch'; did you mean 'killSwitch'?");
    expect(set.code, set.stderr).toBe(3);
    expect(set.stderr).toContain("unknown setting 'mdoe'; did you mean 'mode'?");
    expect(kill.stdout + kill.stderr).not.toContain('warnings');
    const killHere = await cli.run(['kill', 'on', '--config-dir', dir]);
    expect(killHere.stderr).toContain("unknown setting 'mdoe'; did you mean 'mode'?");
    expect(readConfig(dir)).toEqual({ mdoe: 'parallel', debugPort: 9999, killSwitch: true });
  });

  it('refuses more backends than RELAY_MAX_BACKENDS, naming the count, the cap and the setting', async () => {
    const dir = cli.tempDir();
    const urls = (n: number) => Array.from({ length: n }, (_, i) => `ws://127.0.0.1:${10_000 + i}/relay`).join(',');
    const [set, run, help] = await Promise.all([
      cli.run(['set', 'RELAY_BACKENDS', urls(17), '--config-dir', dir]),
      cli.run(['run', '--config-dir', cli.tempDir()], { RELAY_BACKENDS: urls(3000), RELAY_DEBUG_PORT: '0' }),
      cli.run(['--help']),
    ]);
    expect(set.code).toBe(2);
    expect(set.stderr).toContain('RELAY_BACKENDS: got "17 backends" (from command line); expected at most 16 backends');
    expect(set.stderr).toContain('RELAY_MAX_BACKENDS');
    expect(fs.existsSync(path.join(dir, 'config.json'))).toBe(false);
    expect(run.code).toBe(2);
    expect(problemLines(run.stderr)).toEqual([expect.stringContaining('RELAY_BACKENDS: got "3000 backends" (from environment); expected at most 16 backends')]);
    expect(help.stdout).toContain('RELAY_MAX_BACKENDS');
    const raised = await cli.run(['set', 'maxBackends', '20', '--config-dir', dir]);
    expect(raised.code, raised.stderr).toBe(3);
    const now = await cli.run(['set', 'RELAY_BACKENDS', urls(17), '--config-dir', dir]);
    expect(now.code, now.stderr).toBe(3);
    expect((readConfig(dir) as { backends: unknown[] }).backends).toHaveLength(17);
  });
});
