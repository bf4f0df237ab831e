// The headless relay replaying a recording, as a racer or CI would run it.
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../src-gateway/gateway';
import { CliRunner } from './helpers/cli';
import { INVALID_IBT, VALID_IBT } from './helpers/fixtures';

const cli = new CliRunner();
const gateways: Gateway[] = [];
afterEach(async () => {
  await cli.cleanup();
  for (const g of gateways.splice(0)) await g.close();
});

describe('relay --source ibt:<file>', () => {
  it('replays the recording, waits for the gateway to confirm every frame, says so and exits 0', async () => {
    const g = await startGateway();
    gateways.push(g);
    const dir = cli.tempDir();
    const r = await cli.run(['--source', `ibt:${VALID_IBT}`, '--speed', 'max', '--config-dir', dir], { RELAY_DEBUG_PORT: '0', RELAY_BACKENDS: g.url }, 30_000);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('replay finished: 416 frames produced; every frame given to a gateway was confirmed by it');
    const [session] = g.sessions();
    // The relay said delivered only after the gateway confirmed the tail: it holds all of it, and was told the end.
    expect(g.parity(session!)?.streams.controls).toMatchObject({ framesIn: 390, missing: 0, upTo: 390, endedAt: 390 });
    expect(g.parity(session!)?.streams.baseline).toMatchObject({ framesIn: 26, missing: 0, endedAt: 26 });
  });

  it('exits 1 and names, per stream, what was not confirmed when a gateway never answers', async () => {
    const dir = cli.tempDir();
    const r = await cli.run(['--source', `ibt:${VALID_IBT}`, '--speed', 'max', '--config-dir', dir], { RELAY_DEBUG_PORT: '0', RELAY_BACKENDS: 'ws://127.0.0.1:9/relay', RELAY_TARGET_TIMEOUT_MS: '50' }, 40_000);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/NOT confirmed: ws:\/\/127\.0\.0\.1:9\/relay: \d+ controls frame\(s\) never written \(still queued\)/);
  });

  it('refuses an invalid recording, a missing file and a bad --speed with exit 2, before connecting anywhere', async () => {
    const dir = cli.tempDir();
    // Each relay its own folder: one relay per config folder, and these two start at the same time.
    const [invalid, missing, speed, loopAlone] = await Promise.all([
      cli.run(['--source', `ibt:${INVALID_IBT}`, '--config-dir', dir], { RELAY_DEBUG_PORT: '0' }),
      cli.run(['--source', 'ibt:/nowhere/lap.ibt', '--config-dir', cli.tempDir()], { RELAY_DEBUG_PORT: '0' }),
      cli.run(['--source', `ibt:${VALID_IBT}`, '--speed', 'fast', '--config-dir', dir]),
      cli.run(['--loop', '--config-dir', dir]),
    ]);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toMatch(/header field ver at byte 0 is \d+ .*expected 1 or 2/);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('/nowhere/lap.ibt');
    expect(speed.code).toBe(2);
    expect(speed.stderr).toContain('--speed: got "fast"; expected a factor above 0');
    expect(loopAlone.code).toBe(2);
    expect(loopAlone.stderr).toContain('--speed and --loop apply to a recording');
  });
});

describe('relay --source iracing', () => {
  // On Windows the source attaches to the sim instead; its logic is covered through its interface in tests/iracing.test.ts.
  it.skipIf(process.platform === 'win32')('off Windows, says live telemetry needs Windows and names the replay and synthetic sources (exit 2), instead of faking it', async () => {
    const r = await cli.run(['--source', 'iracing', '--config-dir', cli.tempDir()], { RELAY_DEBUG_PORT: '0' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('needs Windows');
    expect(r.stderr).toContain('--source ibt:<file.ibt>');
    expect(r.stderr).toContain('--source synthetic');
    expect(r.stderr + r.stdout).not.toMatch(/mock/i);
  });
});
