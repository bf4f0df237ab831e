// The kill switch, end to end, with the relay CLI at 60 Hz to two reference gateways in the
// bench's child process:
// - from the kill command reaching the running relay (its loopback API, the request `relay
//   kill on` makes) to zero open sockets at the gateways, timed by the gateways themselves
//   (one monotonic clock for every process on the machine), and no frame reaching a gateway
//   once its sockets are gone (a socket opened again while the switch is on would show here);
// - `relay kill on` from a terminal, the built CLI, until it exits having printed the
//   relay's confirmation, against `node -e 0` in the same rounds.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { HTTP_ROUTES, SECRET_HEADER } from '../src-shared/bridge-operations';
import type { CliCommand } from './build';
import type { BenchChild } from './child';
import { PROJECT_DIR } from './paths';
import { RelayProcess, cleanEnv } from './relay-process';
import { median, round, sleep } from './util';

export interface KillResult {
  /** Per round, ms from sending the command to the last gateway seeing its last socket close. */
  endToEndRunsMs: number[];
  endToEndMs: number;
  /** Frames a gateway took in after its last socket closed, while the switch stayed on: must be 0. */
  framesAfterKill: number;
  /**
   * Frames a gateway took in between the command leaving the bench and its socket closing:
   * written by the relay before the switch was in force (the request was still on its way,
   * being read, or the frames were in the socket's buffers).
   */
  framesInTransit: number;
  cliKillRunsMs: number[];
  nodeStartRunsMs: number[];
  cliKillMs: number;
  nodeStartMs: number;
  cliKillVsNodeStart: number;
  /** The CLI's last line, as a racer reads it. */
  cliSays: string;
}

function post(port: number, route: string, secret: string, body: unknown): Promise<{ status: number; text: string }> {
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: route, method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), [SECRET_HEADER]: secret } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

function wallOf(args: string[]): Promise<{ ms: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    execFile(process.execPath, args, { cwd: PROJECT_DIR, env: cleanEnv() }, (err, stdout, stderr) => {
      const ms = performance.now() - t0;
      if (err) reject(new Error(`${args.join(' ')}: ${err.message}\n${stderr}`));
      else resolve({ ms, stdout });
    });
  });
}

export async function measureKillSwitch(cli: CliCommand, child: BenchChild, urls: readonly string[], plan: { rounds: number; warmupMs: number; afterMs: number }): Promise<KillResult> {
  const relay = await RelayProcess.start(cli, { backends: urls });
  try {
    await relay.waitConnected();
    const secret = fs.readFileSync(path.join(relay.dir, 'dashboard-secret'), 'utf8').trim();
    await sleep(plan.warmupMs);
    const endToEnd: number[] = [];
    let framesAfter = 0;
    let inTransit = 0;
    for (let r = 0; r < plan.rounds; r++) {
      await relay.waitConnected();
      // Off the source's tick, so the command does not always land at the same phase of a frame.
      await sleep(200 + Math.random() * 17);
      const t0 = process.hrtime.bigint();
      await child.mark(t0);
      const sent = process.hrtime.bigint();
      const answer = await post(relay.port, HTTP_ROUTES.setKillSwitch, secret, { on: true });
      if (answer.status !== 200) throw new Error(`kill on: HTTP ${answer.status} ${answer.text}`);
      await sleep(plan.afterMs);
      const marked = await child.marked();
      const zero = marked.zeroAtNs.slice(0, urls.length);
      if (zero.some((z) => z === null)) throw new Error(`kill on: a gateway still holds a connection ${plan.afterMs} ms later`);
      const last = zero.reduce((a, z) => (BigInt(z as string) > a ? BigInt(z as string) : a), 0n);
      endToEnd.push(round(Number(last - sent) / 1e6, 3));
      for (const f of marked.frames) {
        // Only this relay's gateways (another phase may be sending to others meanwhile).
        if (f.gateway >= urls.length) continue;
        const at = BigInt(f.atNs);
        if (at < sent) continue;
        if (at > BigInt(zero[f.gateway] as string)) framesAfter++;
        else inTransit++;
      }
      await post(relay.port, HTTP_ROUTES.setKillSwitch, secret, { on: false });
    }

    const cliRuns: number[] = [];
    const nodeRuns: number[] = [];
    let cliSays = '';
    // A warm-up of each (the page cache), then turn about.
    await wallOf(['-e', '0']);
    await relay.waitConnected();
    await wallOf([...cli.args, 'kill', 'on', '--config-dir', relay.dir]);
    await post(relay.port, HTTP_ROUTES.setKillSwitch, secret, { on: false });
    for (let r = 0; r < plan.rounds; r++) {
      await relay.waitConnected();
      nodeRuns.push(round((await wallOf(['-e', '0'])).ms, 1));
      const k = await wallOf([...cli.args, 'kill', 'on', '--config-dir', relay.dir]);
      cliRuns.push(round(k.ms, 1));
      cliSays = k.stdout.trim().split('\n').pop() ?? '';
      await post(relay.port, HTTP_ROUTES.setKillSwitch, secret, { on: false });
    }
    const ratios = cliRuns.map((c, i) => c / (nodeRuns[i] as number));
    return {
      endToEndRunsMs: endToEnd,
      endToEndMs: round(median(endToEnd), 3),
      framesAfterKill: framesAfter,
      framesInTransit: inTransit,
      cliKillRunsMs: cliRuns,
      nodeStartRunsMs: nodeRuns,
      cliKillMs: round(median(cliRuns), 1),
      nodeStartMs: round(median(nodeRuns), 1),
      cliKillVsNodeStart: round(median(ratios), 3),
      cliSays,
    };
  } finally {
    await relay.stop();
  }
}
