// The running relay: settings file + environment -> BackendManager, a telemetry source
// feeding it, the debug server reading it, and every change to the file applied live.
import fs from 'node:fs';
import path from 'node:path';
import { resolveSettings, redactSettings, type Env, type Settings, SettingsError } from '../src-shared/settings';
import { BackendManager, type ManagerOptions } from './relay/backend-manager';
import { FrameBuilder } from './relay/frame-builder';
import { startDebugServer, type DebugServer } from './debug-server';
import { SettingsStore } from './settings-store';
import type { TelemetrySource } from './sources/source';
import { SyntheticSource } from './sources/synthetic';
import { SessionRegistry } from './telemetry/session-registry';
import { APP_VERSION } from './version';
import { silentLogger, type Logger } from './log';

export const RUNTIME_FILE_NAME = 'relay-runtime.json';

export interface RelayOptions {
  configDir: string;
  env?: Env;
  /** A source, or a factory given the settings in force (stream variables, privacy) and the relay's parts. */
  source?: TelemetrySource | SourceFactory;
  log?: Logger;
  tuning?: ManagerOptions['tuning'];
}

export interface SourceContext {
  /** The one registry of this config dir: a second one would overwrite its seq reservations. */
  registry: SessionRegistry;
  log: Logger;
}

export type SourceFactory = (settings: Settings, context: SourceContext) => TelemetrySource;

export interface RuntimeInfo {
  pid: number;
  debugPort: number;
  startedAt: string;
  version: string;
}

export class Relay {
  private stopWatching: () => void = () => {};
  private stopped = false;
  private readonly startedAt = Date.now();

  private constructor(
    readonly store: SettingsStore,
    readonly manager: BackendManager,
    readonly builder: FrameBuilder,
    readonly source: TelemetrySource,
    readonly debug: DebugServer,
    private readonly env: Env,
    private readonly log: Logger,
  ) {}

  /**
   * Reads and checks every setting before anything connects: bad settings throw a
   * SettingsError (the CLI exits 2 with one line per problem) and no socket is opened.
   */
  static async start(options: RelayOptions): Promise<Relay> {
    const log = options.log ?? silentLogger;
    const env = options.env ?? {};
    const store = new SettingsStore(options.configDir);
    const { settings, envOverrides } = resolveSettings(store.read(), env);
    if (envOverrides.length > 0) log.info(`environment overrides the settings file for: ${envOverrides.join(', ')}`);
    const registry = new SessionRegistry(store.dir, (m) => log.warn(m));
    const source: TelemetrySource = typeof options.source === 'function' ? options.source(settings, { registry, log }) : (options.source ?? new SyntheticSource());
    // A recording that cannot be read, or a source that cannot run here, fails now: before anything listens or connects.
    await source.prepare?.();
    const session = source.session ?? { sessionId: 'pending', meta: {} };
    const builder = new FrameBuilder(session.sessionId, session.meta, source.streams, settings.paritySampleRate, APP_VERSION, registry);
    // The debug server binds first: a port in use stops the start before any backend connects.
    const started: { relay?: Relay } = {};
    const debug = await startDebugServer(settings.debugPort, {
      '/debug/targets': () => started.relay?.manager.targetsView(),
      '/debug/parity': () => started.relay?.manager.parityView(started.relay.builder.sessionId),
      '/debug/health': () => started.relay?.healthView(),
    });
    const manager = new BackendManager(settings, () => builder.hello(), {
      tuning: options.tuning,
      onEvent: (e) => {
        const line = `${e.url ?? 'relay'} ${e.kind}${e.detail ? `: ${e.detail}` : ''}`;
        if (e.kind === 'error') log.warn(line);
        else if (e.kind !== 'backoff' && e.kind !== 'connecting') log.info(line);
      },
    });
    const relay = new Relay(store, manager, builder, source, debug, env, log);
    started.relay = relay;
    relay.writeRuntimeFile();
    relay.stopWatching = store.watch(() => relay.reload());
    source.start({
      session: (s) => {
        // Each target announces the new session before its first frame, in queue order.
        builder.setSession(s.sessionId, s.meta, s.tickStrides);
        log.info(`session ${s.sessionId}`);
      },
      sample: (s) => manager.publish(builder.build(s.stream, s.data, s.tick)),
      state: (state) => log.info(`source ${source.kind}: ${state}`),
      backlog: () => manager.backlog(),
    });
    log.info(`relay ${APP_VERSION} started: ${describe(settings)}; debug server http://127.0.0.1:${debug.port}/debug/health`);
    return relay;
  }

  get settings(): Settings {
    return this.manager.settings;
  }

  healthView() {
    return this.manager.health({
      version: APP_VERSION,
      sessionId: this.builder.sessionId,
      source: {
        kind: this.source.kind,
        state: this.source.state,
        connected: this.source.state !== 'not-running',
        framesProduced: this.source.framesProduced,
        sessionId: this.source.session?.sessionId ?? null,
        ...(this.source.stats ? { stats: this.source.stats() } : {}),
      },
      uptimeMs: Date.now() - this.startedAt,
    });
  }

  /** Re-reads the file; a bad edit is reported and the last good settings stay in force. */
  reload(): void {
    if (this.stopped) return;
    let next: Settings;
    try {
      next = resolveSettings(this.store.read(), this.env).settings;
    } catch (e) {
      const detail = e instanceof SettingsError ? e.message : (e as Error).message;
      if (this.killRequestedDespite() && !this.manager.settings.killSwitch) {
        // Safety first: a kill switch turned on in a file that is otherwise broken still bites.
        this.log.error(`settings file has problems, but its kill switch is on: applying the kill switch alone.\n${detail}`);
        this.manager.apply({ ...this.manager.settings, killSwitch: true });
        return;
      }
      this.log.error(`settings change ignored, the previous settings stay in force:\n${detail}`);
      return;
    }
    const before = this.manager.settings;
    if (JSON.stringify(before) === JSON.stringify(next)) return;
    if (next.debugPort !== before.debugPort) this.log.warn('RELAY_DEBUG_PORT changed: it applies at the next start');
    if (next.killSwitch !== before.killSwitch) this.log.warn(next.killSwitch ? 'KILL SWITCH ON: every backend cut off' : 'kill switch off: backends reconnecting');
    this.builder.setSampleRate(next.paritySampleRate);
    this.manager.apply(next);
    this.log.info(`settings applied: ${describe(next)}`);
  }

  private killRequestedDespite(): boolean {
    try {
      return this.store.read().killSwitch === true;
    } catch {
      return false;
    }
  }

  /** Waits until every target has nothing queued (or the time is up); true when drained. */
  async drain(timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if (this.manager.targetsView().targets.every((t) => t.queueSize === 0)) return true;
      await new Promise((r) => setTimeout(r, 20));
    }
    return false;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.stopWatching();
    await this.source.stop();
    this.builder.finish();
    await this.manager.close();
    await this.debug.close();
    try {
      fs.rmSync(path.join(this.store.dir, RUNTIME_FILE_NAME), { force: true });
    } catch {
      /* best effort */
    }
  }

  private writeRuntimeFile(): void {
    const info: RuntimeInfo = { pid: process.pid, debugPort: this.debug.port, startedAt: new Date(this.startedAt).toISOString(), version: APP_VERSION };
    try {
      fs.writeFileSync(path.join(this.store.dir, RUNTIME_FILE_NAME), JSON.stringify(info, null, 2), { mode: 0o600 });
    } catch (e) {
      this.log.warn(`cannot write ${RUNTIME_FILE_NAME}: ${(e as Error).message} (relay status will use the configured debug port)`);
    }
  }
}

export function describe(s: Settings): string {
  const r = redactSettings(s);
  const targets = r.backends.map((b, i) => `${b.url}${b.enabled ? '' : ' (disabled)'}${i === s.primaryIndex && s.mode === 'single' ? ' (primary)' : ''}`);
  return `${s.killSwitch ? 'KILL SWITCH ON, ' : ''}${s.mode} mode, ${targets.length} backend(s)${targets.length ? ': ' + targets.join(', ') : ''}`;
}
