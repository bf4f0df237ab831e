// The running relay's composition root: settings file + environment -> BackendManager, a
// telemetry source feeding it, the debug server reading it, the dashboard's actions, the
// settings file applied live and the files of the run, built and wired here. It owns start
// and stop; what the dashboard asks of the relay is in dashboard-actions.ts.
import path from 'node:path';
import { HTTP_OPERATIONS } from '../../src-shared/bridge-operations';
import { maskUrl, resolveSettings, type Env, type ResolvedSettings, type Settings } from '../../src-shared/settings';
import { BackendManager, type ManagerOptions } from '../relay/backend-manager';
import type { FinishResult } from '../relay/target';
import { FrameBuilder } from '../relay/frame-builder';
import { startDebugServer, type DebugServer } from '../http/debug-server';
import { createDashboardApi, type DashboardApi, type RelayActions } from '../http/dashboard-api';
import { LogFile, teeLogger, type LogFileOptions } from '../log/log-file';
import { CutoverController, type CutoverOptions } from '../cutover/cutover';
import { acquireRuntimeLock, type RuntimeLock } from './runtime-lock';
import { SettingsStore, sealedTokenWarnings } from '../settings/settings-store';
import type { SourceFactory, TelemetrySource } from '../sources/source';
import { SyntheticSource } from '../sources/synthetic';
import { SessionRegistry } from '../telemetry/session-registry';
import { APP_VERSION } from './version';
import { silentLogger, type LogLevel, type Logger } from '../log/logger';
import { DashboardActions } from './dashboard-actions';
import { describe, describeUnconfirmed } from './describe';
import { createSecret, RunFiles } from './run-files';
import { SettingsReload } from './settings-reload';

interface RelayCommonOptions {
  env?: Env;
  /** A source, or a factory given the settings in force (stream variables, privacy) and the relay's parts. */
  source?: TelemetrySource | SourceFactory;
  log?: Logger;
  tuning?: ManagerOptions['tuning'];
  /** The built dashboard to serve; dist/renderer of this repository unless a test points elsewhere. */
  dashboardRoot?: string;
  /** The rotating log file in <configDir>/logs; false for none. */
  logFile?: boolean | LogFileOptions;
  /** How long the report waits for each gateway's parity endpoint. */
  reportGatewayTimeoutMs?: number;
  /** The guided cutover's timing (tests shorten it). */
  cutover?: CutoverOptions;
}

/**
 * The settings file by its directory (the headless relay), or a store already opened on it
 * (the desktop shell: electron-store underneath, tokens sealed). Given both, they must name
 * the same directory.
 */
export type RelayOptions = RelayCommonOptions & ({ configDir: string; store?: undefined } | { configDir?: string; store: SettingsStore });

/** The parts open() builds before the relay exists; the constructor wires the rest on them. */
interface RelayParts {
  store: SettingsStore;
  manager: BackendManager;
  builder: FrameBuilder;
  source: TelemetrySource;
  debug: DebugServer;
  dashboard: DashboardApi;
  env: Env;
  log: Logger;
  envOverrides: string[];
  dashboardSecret: string;
  logFile: LogFile | null;
  runFiles: RunFiles;
  reportGatewayTimeoutMs: number | undefined;
  cutover: CutoverOptions | undefined;
}

export class Relay {
  private stopWatching: () => void = () => {};
  private stopped = false;
  private readonly sessions = new Set<string>();

  readonly store: SettingsStore;
  readonly manager: BackendManager;
  readonly builder: FrameBuilder;
  readonly source: TelemetrySource;
  readonly debug: DebugServer;
  /** Variables whose environment value overrides the file for this run (constant: the environment does not change). */
  readonly envOverrides: string[];
  /** The per-run secret that dashboard actions need; also in <configDir>/dashboard-secret while the relay runs. */
  readonly dashboardSecret: string;
  readonly logFile: LogFile | null;
  /** The guided cutover (blue/green), run here: the CLI and the dashboard drive it. */
  readonly cutover: CutoverController;
  /** The settings file, applied live. */
  readonly settingsReload: SettingsReload;
  /** What the dashboard, the CLI and the desktop window ask of this relay, and the views they read. */
  readonly actions: DashboardActions;
  private readonly dashboard: DashboardApi;
  private readonly log: Logger;
  private readonly runFiles: RunFiles;

  private constructor(parts: RelayParts) {
    const { store, manager, builder, env, log, envOverrides } = parts;
    this.store = store;
    this.manager = manager;
    this.builder = builder;
    this.source = parts.source;
    this.debug = parts.debug;
    this.envOverrides = envOverrides;
    this.dashboardSecret = parts.dashboardSecret;
    this.logFile = parts.logFile;
    this.dashboard = parts.dashboard;
    this.log = log;
    this.runFiles = parts.runFiles;
    const stopping = () => this.stopped;
    this.settingsReload = new SettingsReload({ store, env, manager, builder, log, stopping });
    this.cutover = new CutoverController(
      {
        settings: () => manager.settings,
        targets: () => manager.targetsView(),
        parity: () => manager.parityView(builder.sessionId),
        readFile: () => store.read(),
        writeFile: (file, why) => this.actions.writeSettings(file, why),
        envOverrides,
        env,
        log,
      },
      parts.cutover,
    );
    this.actions = new DashboardActions({
      store,
      env,
      envOverrides,
      manager,
      builder,
      source: parts.source,
      cutover: this.cutover,
      settings: this.settingsReload,
      log,
      logFile: parts.logFile,
      debugPort: parts.debug.port,
      dashboardSecret: parts.dashboardSecret,
      startedAt: Date.now(),
      sessions: this.sessions,
      reportGatewayTimeoutMs: parts.reportGatewayTimeoutMs,
      stopping,
    });
  }

  /** The dashboard with the secret in the fragment: browsers never send a fragment to the server, so it stays out of any log. */
  get dashboardUrl(): string {
    return `http://127.0.0.1:${this.debug.port}/#secret=${this.dashboardSecret}`;
  }

  get settings(): Settings {
    return this.manager.settings;
  }

  /** Browsers holding a live event stream now. */
  liveDashboards(): number {
    return this.dashboard.sseClients();
  }

  /**
   * Reads and checks every setting before anything connects: bad settings throw a
   * SettingsError (the CLI exits 2 with one line per problem) and no socket is opened.
   */
  static async start(options: RelayOptions): Promise<Relay> {
    const env = options.env ?? {};
    const store = settingsStoreOf(options);
    const file = store.read();
    const resolved = resolveSettings(file, env);
    // One relay per config folder: taken before anything in the folder is touched, so a
    // second relay refuses to start (naming the first) without disturbing it.
    const lock = acquireRuntimeLock(store.dir, APP_VERSION);
    try {
      return await Relay.open(options, store, file, resolved, lock);
    } catch (e) {
      lock.release();
      throw e;
    }
  }

  private static async open(options: RelayOptions, store: SettingsStore, file: Record<string, unknown>, resolved: ResolvedSettings, lock: RuntimeLock): Promise<Relay> {
    const env = options.env ?? {};
    const { settings, envOverrides, warnings } = resolved;
    const secret = createSecret();
    // The log file is opened only once the start can no longer fail on bad settings, a bad
    // recording or a port in use: a refused start must not push the last real run out of
    // relay.previous.log. Lines logged before then are held and written first.
    let logFile: LogFile | null = null;
    const early: [LogLevel, string][] = [];
    const log = teeLogger(options.log ?? silentLogger, (level, message) => {
      if (logFile) logFile.write(level, message);
      else if (options.logFile !== false && early.length < 1000) early.push([level, message]);
    });
    if (envOverrides.length > 0) log.info(`environment overrides the settings file for: ${envOverrides.join(', ')}`);
    for (const line of warnings) log.warn(line);
    for (const line of sealedTokenWarnings(file, settings)) log.warn(line);
    const registry = new SessionRegistry(store.dir, (m) => log.warn(m));
    const source: TelemetrySource = typeof options.source === 'function' ? options.source(settings, { registry, log }) : (options.source ?? new SyntheticSource());
    // A recording that cannot be read, or a source that cannot run here, fails now: before anything listens or connects.
    await source.prepare?.();
    const session = source.session ?? { sessionId: 'pending', meta: {} };
    const builder = new FrameBuilder(session.sessionId, session.meta, source.streams, settings.paritySampleRate, APP_VERSION, registry);
    // The debug server binds first: a port in use stops the start before any backend connects.
    const started: { relay?: Relay } = {};
    const dashboard = createDashboardApi(
      onceStarted(() => started.relay?.actions),
      {
        secret,
        ...(options.dashboardRoot ? { staticRoot: options.dashboardRoot } : {}),
        origins: () => (started.relay ? [`http://127.0.0.1:${started.relay.debug.port}`, `http://localhost:${started.relay.debug.port}`] : []),
      },
    );
    let debug: DebugServer;
    try {
      debug = await startDebugServer(
        settings.debugPort,
        {
          '/debug/targets': () => started.relay?.manager.targetsView(),
          '/debug/parity': () => started.relay?.manager.parityView(started.relay.builder.sessionId),
          '/debug/health': () => started.relay?.actions.healthView(),
        },
        (req, res, pathname) => dashboard.handle(req, res, pathname),
      );
    } catch (e) {
      dashboard.close();
      throw e;
    }
    if (options.logFile !== false) {
      try {
        logFile = LogFile.open(store.dir, { ...(typeof options.logFile === 'object' ? options.logFile : {}), secrets: [secret] });
        for (const [level, message] of early.splice(0)) logFile.write(level, message);
      } catch (e) {
        (options.log ?? silentLogger).warn(`cannot open the log file in ${store.dir}: ${(e as Error).message}; logging to the console only`);
      }
    }
    const manager = new BackendManager(settings, () => builder.current(), {
      tuning: options.tuning,
      onEvent: (e) => {
        // Logs name a backend as people know it: its friendly name beside the masked URL.
        const named = e.url === null ? undefined : started.relay?.settings.backends.find((b) => maskUrl(b.url) === e.url)?.name;
        const line = `${e.url === null ? 'relay' : named ? `${named} (${e.url})` : e.url} ${e.kind}${e.detail ? `: ${e.detail}` : ''}`;
        if (e.kind === 'error') log.warn(line);
        else if (e.kind !== 'backoff' && e.kind !== 'connecting') log.info(line);
      },
    });
    const runFiles = new RunFiles(store.dir, lock, log);
    const relay = new Relay({
      store,
      manager,
      builder,
      source,
      debug,
      dashboard,
      env,
      log,
      envOverrides,
      dashboardSecret: secret,
      logFile,
      runFiles,
      reportGatewayTimeoutMs: options.reportGatewayTimeoutMs,
      cutover: options.cutover,
    });
    relay.sessions.add(builder.sessionId);
    runFiles.publish(secret, debug.port);
    started.relay = relay;
    relay.stopWatching = relay.settingsReload.watch();
    source.start({
      session: (s) => {
        // Each target announces the new session before its first frame, in queue order.
        builder.setSession(s.sessionId, s.meta, s.tickStrides);
        relay.sessions.add(s.sessionId);
        log.info(`session ${s.sessionId}`);
      },
      sample: (s) => manager.publish(builder.build(s.stream, s.data, s.tick)),
      state: (state) => log.info(`source ${source.kind}: ${state}`),
      backlog: () => manager.backlog(),
    });
    log.info(`relay ${APP_VERSION} started: ${describe(settings)}; debug server http://127.0.0.1:${debug.port}/debug/health`);
    return relay;
  }

  /** Waits until no target holds a frame queued or unconfirmed (or the time is up); true when all were confirmed. */
  async drain(timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      if (this.manager.targetsView().targets.every((t) => t.queueSize === 0)) return true;
      if (Date.now() >= until) return false;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /**
   * Stops the source, then ends every target's delivery: what is queued is written, gaps and
   * an `end` announced, and each gateway's final receipt awaited (at most `endTimeoutMs`,
   * default the manager's). The results say, per target and stream, what was not confirmed.
   */
  async stop(options: { endTimeoutMs?: number } = {}): Promise<FinishResult[]> {
    if (this.stopped) return [];
    this.stopped = true;
    this.stopWatching();
    await this.source.stop();
    const results = await this.manager.finishAll(options.endTimeoutMs ?? this.manager.endTimeoutMs);
    for (const r of results) {
      if (r.complete) continue;
      this.log.warn(`${r.url}: not every frame was confirmed at the end: ${describeUnconfirmed(r)}`);
    }
    this.builder.finish();
    await this.manager.close();
    this.dashboard.close();
    await this.debug.close();
    this.cutover.dispose();
    this.runFiles.release();
    this.log.info('relay stopped');
    await this.logFile?.close();
    return results;
  }
}

/**
 * The dashboard's API is served from the moment the debug server listens, a moment before the
 * relay's actions exist: until then every operation answers that the relay is still starting.
 */
function onceStarted(actions: () => RelayActions | undefined): RelayActions {
  const forward = (name: keyof RelayActions) => (request: never) => {
    const ready = actions();
    if (!ready) throw new Error('the relay is still starting');
    return (ready[name] as (this: RelayActions, request: never) => unknown).call(ready, request);
  };
  return Object.fromEntries(HTTP_OPERATIONS.map((name) => [name, forward(name)])) as unknown as RelayActions;
}

function settingsStoreOf(options: RelayOptions): SettingsStore {
  if (options.store === undefined) return new SettingsStore(options.configDir);
  if (options.configDir !== undefined && path.resolve(options.configDir) !== options.store.dir) {
    throw new Error(`the settings store is in ${options.store.dir}, not in the config dir ${path.resolve(options.configDir)}`);
  }
  return options.store;
}
