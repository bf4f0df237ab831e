// `relay run`: the relay in the foreground until Ctrl-C, SIGTERM or the end of a recording.
import { Relay } from '../runtime/relay';
import { describe, describeUnconfirmed } from '../runtime/describe';
import { parseSourceSpec } from '../sources/source-spec';
import { createLogger } from '../log/logger';
import { APP_VERSION } from '../runtime/version';
import { EXIT_OK, EXIT_RUNTIME, type Out } from './exit';

export interface RunOptions {
  /** `synthetic`, `ibt:<path>` (with --speed and --loop) or `iracing`. */
  source: string;
  speed: string | undefined;
  loop: boolean;
}

export async function run(configDir: string, options: RunOptions, env: NodeJS.ProcessEnv, out: Out): Promise<number> {
  const source = parseSourceSpec(options.source, options.speed, options.loop);
  const log = createLogger();
  const relay = await Relay.start({ configDir, env, source, log });
  out.print(
    `Relay Agent ${APP_VERSION} running (${describe(relay.settings)})\n` +
      `  config folder: ${relay.store.dir} (one relay per folder; pid ${process.pid})\n` +
      `  source:   ${relay.source.kind}${relay.source.session ? `, session ${relay.source.session.sessionId}` : ''}\n` +
      `  settings: ${relay.store.path}\n` +
      `  debug:    http://127.0.0.1:${relay.debug.port}/debug/health  /debug/targets  /debug/parity\n` +
      `  dashboard: ${relay.dashboardUrl}`,
  );
  return new Promise<number>((resolve) => {
    let stopping = false;
    // Every way out (Ctrl-C, SIGTERM, the end of a recording) ends each target's delivery:
    // the gateways confirm what they hold, and only then does the relay say delivered.
    const finish = (why: string) => {
      if (stopping) return;
      stopping = true;
      const produced = relay.source.framesProduced;
      relay.stop().then(
        (results) => {
          const short = results.filter((r) => !r.complete);
          if (short.length === 0) {
            out.print(`${why}: ${produced} frames produced; every frame given to a gateway was confirmed by it (or counted as dropped, with its reason)`);
            resolve(EXIT_OK);
            return;
          }
          out.print(`${why}: ${produced} frames produced; NOT confirmed: ${short.map((r) => `${r.url}: ${describeUnconfirmed(r)}`).join('; ')}`);
          resolve(EXIT_RUNTIME);
        },
        () => resolve(EXIT_RUNTIME),
      );
    };
    // conf's atomic writes (atomically, through when-exit) hook SIGINT and SIGTERM to re-raise
    // them: on Windows that re-raise is TerminateProcess, which ended the relay with exit 1 before
    // it had delivered anything or said what. This handler is the way out; their cleanup still
    // runs on 'exit'.
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.removeAllListeners(signal);
    process.once('SIGINT', () => {
      log.info('SIGINT: stopping');
      finish('stopped (SIGINT)');
    });
    process.once('SIGTERM', () => {
      log.info('SIGTERM: stopping');
      finish('stopped (SIGTERM)');
    });
    relay.source.finished?.then(() => {
      if (stopping) return;
      log.info(`recording ended after ${relay.source.framesProduced} frames; delivering what is still queued and waiting for the gateways to confirm`);
      finish('replay finished');
    });
  });
}
