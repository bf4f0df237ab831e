// The running relay: settings file + environment -> BackendManager, a telemetry source
// feeding it, the debug server reading it, and every change to the file applied live.
import fs from 'node:fs';
import path from 'node:path';
import {
  PANEL_SETTING_KEYS,
  failure,
  type ActionFailure,
  type ActionResult,
  type AssignSettingsRequest,
  type ChangeConfirmation,
  type CutoverResult,
  type DashboardSettings,
  type DashboardState,
  type KillSwitchRequest,
  type LatencyHistory,
  type PanelSettings,
  type ReportExport,
  type SettingsUpdate,
} from '../../src-shared/bridge';
import type { CutoverRequest } from '../../src-shared/cutover';
import type { HealthResponse } from '../../src-shared/debug-api';
import {
  SettingsError,
  backendLabel,
  fileAsksForKillSwitch,
  formatProblem,
  isKillSwitchName,
  killSwitchInText,
  killSwitchValueProblem,
  maskUrl,
  readKillSwitch,
  redactSettings,
  resolveSettings,
  variableOf,
  type Env,
  type ResolvedSettings,
  type Settings,
} from '../../src-shared/settings';
import { BackendManager, type ManagerOptions } from '../relay/backend-manager';
import type { FinishResult } from '../relay/target';
import { FrameBuilder } from '../relay/frame-builder';
import { startDebugServer, type DebugServer } from '../http/debug-server';
import { createDashboardApi, createSecret, removeSecretFile, writeSecretFile, type DashboardApi } from '../http/dashboard-api';
import { LogFile, teeLogger, type LogFileOptions } from '../log/log-file';
import { exportReport, LOG_TAIL_LINES, resumeOf } from '../report/build-report';
import { KILL_SWITCH_VARIABLE, planAssignments, planSettingsUpdate, type UpdatePlan } from '../settings/settings-update';
import { CutoverController, type CutoverOptions } from '../cutover/cutover';
import { acquireRuntimeLock, RUNTIME_FILE_NAME, type RuntimeInfo, type RuntimeLock } from './runtime-lock';
import { SettingsStore, sealedTokenWarnings } from '../settings/settings-store';
import type { SourceFactory, TelemetrySource } from '../sources/source';
import { SyntheticSource } from '../sources/synthetic';
import { SessionRegistry } from '../telemetry/session-registry';
import { APP_VERSION } from './version';
import { silentLogger, type LogLevel, type Logger } from '../log/logger';

// The runtime file is the relay's lock on its config folder (runtime-lock.ts).
export { RUNTIME_FILE_NAME, type RuntimeInfo };
/** How long a kill switch waits for the backend sockets to close before it answers (the spec asks 100 ms; a slow machine gets more, and says so). */
const KILL_CONFIRM_WAIT_MS = 1000;

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

/** The most recent timeline entries a dashboard snapshot carries. */
const STATE_TIMELINE_ENTRIES = 50;
/** The newest entries of the cutover's record a snapshot carries (the report keeps them all). */
const STATE_CUTOVER_EVENTS = 20;

export class Relay {
  private stopWatching: () => void = () => {};
  private stopped = false;
  private readonly startedAt = Date.now();
  private readonly sessions = new Set<string>();

  private constructor(
    readonly store: SettingsStore,
    readonly manager: BackendManager,
    readonly builder: FrameBuilder,
    readonly source: TelemetrySource,
    readonly debug: DebugServer,
    private readonly env: Env,
    private readonly log: Logger,
    /** Variables whose environment value overrides the file for this run (constant: the environment does not change). */
    readonly envOverrides: string[],
    /** The per-run secret that dashboard actions need; also in <configDir>/dashboard-secret while the relay runs. */
    readonly dashboardSecret: string,
    private readonly dashboard: DashboardApi,
    readonly logFile: LogFile | null,
    private readonly reportGatewayTimeoutMs: number | undefined,
    private readonly lock: RuntimeLock,
    cutoverOptions: CutoverOptions | undefined,
  ) {
    this.cutover = new CutoverController(
      {
        settings: () => this.manager.settings,
        targets: () => this.manager.targetsView(),
        parity: () => this.manager.parityView(this.builder.sessionId),
        readFile: () => this.store.read(),
        writeFile: (file, why) => this.writeSettings(file, why),
        envOverrides: this.envOverrides,
        env: this.env,
        log: this.log,
      },
      cutoverOptions,
    );
  }

  /** The guided cutover (blue/green), run here: the CLI and the dashboard drive it. */
  readonly cutover: CutoverController;

  /** The dashboard with the secret in the fragment: browsers never send a fragment to the server, so it stays out of any log. */
  get dashboardUrl(): string {
    return `http://127.0.0.1:${this.debug.port}/#secret=${this.dashboardSecret}`;
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
    const notReady = (): never => {
      throw new Error('the relay is still starting');
    };
    const dashboard = createDashboardApi(
      {
        getState: () => started.relay?.dashboardState() ?? notReady(),
        getHistory: () => started.relay?.latencyHistory() ?? notReady(),
        setKillSwitch: (r) => started.relay?.setKillSwitchConfirmed(r) ?? notReady(),
        updateSettings: (u) => started.relay?.updateSettings(u) ?? notReady(),
        assignSettings: (a) => started.relay?.assignSettings(a) ?? notReady(),
        cutover: (r) => started.relay?.cutoverRequest(r) ?? notReady(),
        cutoverView: () => (started.relay ? { ok: true, cutover: started.relay.cutover.view() } : notReady()),
        exportReport: () => started.relay?.exportReport() ?? notReady(),
      },
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
          '/debug/health': () => started.relay?.healthView(),
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
    const relay = new Relay(store, manager, builder, source, debug, env, log, envOverrides, secret, dashboard, logFile, options.reportGatewayTimeoutMs, lock, options.cutover);
    relay.sessions.add(builder.sessionId);
    try {
      writeSecretFile(store.dir, secret);
    } catch (e) {
      log.warn(`cannot write the dashboard secret file: ${(e as Error).message} (the dashboard URL printed at start still works)`);
    }
    started.relay = relay;
    try {
      lock.setDebugPort(debug.port);
    } catch (e) {
      log.warn(`cannot record the debug port in ${lock.file}: ${(e as Error).message} (relay status and relay kill will not find this relay)`);
    }
    relay.stopWatching = store.watch(() => relay.reload());
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

  get settings(): Settings {
    return this.manager.settings;
  }

  healthView(): HealthResponse {
    const health = this.manager.health({
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
    return { ...health, pid: process.pid, configDir: this.store.dir };
  }

  // ---- the dashboard's calls (HTTP here; the desktop shell's IPC calls the same) ----------

  dashboardState(): DashboardState {
    const s = this.manager.settings;
    const timeline = this.manager.timeline();
    return {
      at: Date.now(),
      targets: this.manager.targetsView(),
      parity: this.manager.parityView(this.builder.sessionId),
      health: this.healthView(),
      settings: this.dashboardSettings(s),
      timeline: timeline.slice(-STATE_TIMELINE_ENTRIES),
      cutover: this.cutover.view({ recentEvents: STATE_CUTOVER_EVENTS }),
    };
  }

  private dashboardSettings(s: Settings): DashboardSettings {
    return {
      backends: s.backends.map((b) => ({ url: maskUrl(b.url), enabled: b.enabled, hasToken: Boolean(b.token), name: b.name ?? null })),
      mode: s.mode,
      primaryIndex: s.primaryIndex,
      killSwitch: s.killSwitch,
      paritySampleRate: s.paritySampleRate,
      values: Object.fromEntries(PANEL_SETTING_KEYS.map((k) => [k, s[k]])) as unknown as PanelSettings,
      allowNoDelivery: s.allowNoDelivery,
      envOverrides: [...this.envOverrides],
    };
  }

  /** Browsers holding a live event stream now. */
  liveDashboards(): number {
    return this.dashboard.sseClients();
  }

  latencyHistory(): LatencyHistory {
    return this.manager.latencyHistory();
  }

  /**
   * The kill switch from the dashboard: saved in the file like `relay kill` (whatever else the
   * file holds) and in force before this returns, even when the rest of the file is broken.
   */
  setKillSwitch({ on }: KillSwitchRequest): ActionResult {
    if (this.stopped) {
      // The end of a run may wait seconds for slow gateways: the kill switch still bites then.
      if (!on) return failure(503, 'the relay is stopping');
      this.manager.apply({ ...this.manager.settings, killSwitch: true });
      this.log.warn('KILL SWITCH ON while stopping: every backend cut off');
      return { ok: true };
    }
    if (!on && this.envKillSwitchOn()) {
      return failure(409, `${KILL_SWITCH_VARIABLE} is on in the environment of this relay run: the kill switch stays on until the relay is restarted without it`);
    }
    let saveError: string | null = null;
    try {
      this.store.write({ ...this.store.read(), killSwitch: on });
    } catch (e) {
      saveError = (e as Error).message;
    }
    this.reload();
    if (this.manager.settings.killSwitch !== on) {
      // reload() keeps the last good settings when the file has other problems: the switch itself must still bite.
      this.log.warn(on ? 'KILL SWITCH ON (from the dashboard): every backend cut off' : 'kill switch off (from the dashboard): backends reconnecting');
      this.manager.apply({ ...this.manager.settings, killSwitch: on });
    }
    if (saveError !== null) {
      this.log.error(`kill switch ${on ? 'on' : 'off'} applied for this run, but not saved: ${saveError}`);
      return failure(500, `the kill switch is ${on ? 'on' : 'off'} for this run, but it could not be saved in the settings file: ${saveError}`);
    }
    return { ok: true };
  }

  /**
   * The kill switch from the CLI or the dashboard, applied as setKillSwitch does, then
   * confirmed: how many backend connections it closed, and how long until none was open.
   */
  async setKillSwitchConfirmed(request: KillSwitchRequest): Promise<ActionResult> {
    const before = this.manager.liveSockets();
    const started = performance.now();
    const result = this.setKillSwitch(request);
    if (!result.ok) return result;
    let stillOpen = this.manager.liveSockets();
    if (request.on) {
      const until = started + KILL_CONFIRM_WAIT_MS;
      while (stillOpen > 0 && performance.now() < until) {
        await new Promise((r) => setTimeout(r, 2));
        stillOpen = this.manager.liveSockets();
      }
    }
    const withinMs = Math.round((performance.now() - started) * 10) / 10;
    // The switch bites whatever else the file holds; what else is wrong there is said, not hidden.
    const warnings: string[] = [];
    try {
      resolveSettings(this.store.read(), this.env);
    } catch (e) {
      const detail = e instanceof SettingsError ? e.message : (e as Error).message;
      warnings.push(`other settings in the file have problems and were left as they are (the kill switch applies regardless): ${detail.split('\n').join('; ')}`);
    }
    return {
      ok: true,
      confirmation: {
        ...this.confirmationBase([KILL_SWITCH_VARIABLE], warnings),
        killSwitch: { on: this.manager.settings.killSwitch, closed: request.on ? before - stillOpen : 0, stillOpen: request.on ? stillOpen : 0, withinMs },
      },
    };
  }

  private confirmationBase(changed: string[], warnings: string[] = []): ChangeConfirmation {
    const notes: string[] = [];
    const port = variableOf('debugPort');
    if (changed.includes(port)) notes.push(`${port} applies at the next start; this relay keeps listening on ${this.debug.port}`);
    return { pid: process.pid, configDir: this.store.dir, summary: describe(this.manager.settings), changed, notes, warnings };
  }

  /**
   * Writes a planned settings file and applies it at once; ok only when the relay then runs
   * with exactly what the file and its environment say (the change is confirmed, not assumed).
   */
  private applyPlan(plan: Extract<UpdatePlan, { ok: true }>, who: string): ActionResult {
    const expected = resolveSettings(plan.file, this.env).settings;
    try {
      this.store.write(plan.file);
    } catch (e) {
      return failure(500, `the settings could not be saved: ${(e as Error).message}`);
    }
    this.log.info(`settings changed ${who}${plan.changed.length ? `: ${plan.changed.join(', ')}` : ''}`);
    this.reload();
    const now = this.manager.settings;
    if (JSON.stringify({ ...now, debugPort: 0 }) !== JSON.stringify({ ...expected, debugPort: 0 })) {
      return failure(500, `the settings were saved, but the relay did not apply them (see its log); it runs with: ${describe(now)}`);
    }
    return { ok: true, confirmation: this.confirmationBase(plan.changed, plan.warnings) };
  }

  /** A settings change from the dashboard: checked whole, written to the settings file, applied at once. */
  updateSettings(update: SettingsUpdate): ActionResult {
    if (this.stopped) return failure(503, 'the relay is stopping');
    const file = this.readFileForChange();
    if (!file.ok) return file;
    const plan = planSettingsUpdate(file.file, update, this.manager.settings, this.envOverrides, this.env);
    if (!plan.ok) return plan;
    return this.applyPlan(plan, 'from the dashboard');
  }

  /**
   * `relay set NAME VALUE` and `relay set A=1 B=2 ...` from the CLI: read with the settings
   * file's rules, refused when this relay's environment pins one of them, applied as one change.
   * The kill switch alone takes the kill switch's own path (no other setting can block it).
   */
  async assignSettings(request: AssignSettingsRequest): Promise<ActionResult> {
    if (this.stopped) return failure(503, 'the relay is stopping');
    const only = request.assignments.length === 1 ? request.assignments[0] : undefined;
    if (only && isKillSwitchName(only.name)) {
      const on = readKillSwitch(only.value);
      if (on === undefined) return failure(400, 'the kill switch was not changed', [formatProblem(killSwitchValueProblem(only.value))]);
      return this.setKillSwitchConfirmed({ on });
    }
    const file = this.readFileForChange();
    if (!file.ok) return file;
    const plan = planAssignments(file.file, request.assignments, { envOverrides: this.envOverrides, env: this.env, ...(request.force ? { force: true } : {}) });
    if (!plan.ok) return plan;
    return this.applyPlan(plan, 'by relay set');
  }

  /** A whole settings file from the cutover: checked with this relay's environment, written, applied. */
  private writeSettings(file: Record<string, unknown>, why: string): ActionResult {
    if (this.stopped) return failure(503, 'the relay is stopping');
    let warnings: string[];
    try {
      warnings = resolveSettings(file, this.env).warnings;
    } catch (e) {
      if (e instanceof SettingsError) return failure(400, 'the settings are not valid; nothing was saved', e.problems.map(formatProblem));
      throw e;
    }
    return this.applyPlan({ ok: true, file, changed: [], warnings }, `(${why})`);
  }

  cutoverRequest(request: CutoverRequest): CutoverResult {
    if (this.stopped) return failure(503, 'the relay is stopping');
    return this.cutover.request(request);
  }

  private readFileForChange(): { ok: true; file: Record<string, unknown> } | ActionFailure {
    try {
      return { ok: true, file: this.store.read() };
    } catch (e) {
      return failure(500, `the settings file cannot be read, so nothing was changed: ${(e as Error).message}`);
    }
  }

  async exportReport(): Promise<ReportExport | ActionFailure> {
    try {
      // 'pending' names the wait for the sim's first session, before any frame: not a session of its own.
      const sessions = [...this.sessions].filter((s) => s !== 'pending' || s === this.builder.sessionId);
      return await exportReport({
        manager: this.manager,
        sessionId: this.builder.sessionId,
        sessions,
        resumedFrom: resumeOf(this.builder.hello()),
        sourceGaps: this.builder.sourceGaps(),
        health: this.healthView(),
        envOverrides: this.envOverrides,
        logTail: () => this.logFile?.tail(LOG_TAIL_LINES) ?? Promise.resolve([]),
        secrets: [this.dashboardSecret],
        relayUptimeMs: Date.now() - this.startedAt,
        cutovers: this.cutover.records(),
        env: { ...process.env, ...this.env },
        ...(this.reportGatewayTimeoutMs !== undefined ? { gatewayTimeoutMs: this.reportGatewayTimeoutMs } : {}),
      });
    } catch (e) {
      this.log.error(`report failed: ${(e as Error).message}`);
      return failure(500, `the report could not be built: ${(e as Error).message}`);
    }
  }

  private envKillSwitchOn(): boolean {
    const text = this.env[KILL_SWITCH_VARIABLE];
    if (text === undefined) return false;
    try {
      return resolveSettings({}, { [KILL_SWITCH_VARIABLE]: text }).settings.killSwitch;
    } catch {
      return false;
    }
  }

  /** Re-reads the file; a bad edit is reported and the last good settings stay in force. */
  reload(): void {
    if (this.stopped) return;
    let resolved: ResolvedSettings;
    try {
      resolved = resolveSettings(this.store.read(), this.env);
    } catch (e) {
      const detail = e instanceof SettingsError ? e.message : (e as Error).message;
      if (e instanceof SettingsError) for (const line of e.warnings) this.log.warn(line);
      // Fail-safe: a broken file never leaves the kill switch off when it asks for on, or when its value cannot be read as off.
      if (this.killRequestedDespite(e) && !this.manager.settings.killSwitch) {
        this.log.error(`settings file has problems, and its kill switch is on or cannot be read as off: applying the kill switch alone.\n${detail}`);
        this.manager.apply({ ...this.manager.settings, killSwitch: true });
        return;
      }
      this.log.error(`settings change ignored, the previous settings stay in force${this.manager.settings.killSwitch ? ' (the kill switch stays on)' : ''}:\n${detail}`);
      return;
    }
    // Said before the comparison below: an unknown key changes no setting, yet must be seen.
    for (const line of resolved.warnings) this.log.warn(line);
    const next = resolved.settings;
    const before = this.manager.settings;
    if (JSON.stringify(before) === JSON.stringify(next)) return;
    if (next.debugPort !== before.debugPort) this.log.warn(`${variableOf('debugPort')} changed: it applies at the next start`);
    if (next.killSwitch !== before.killSwitch) this.log.warn(next.killSwitch ? 'KILL SWITCH ON: every backend cut off' : 'kill switch off: backends reconnecting');
    this.builder.setSampleRate(next.paritySampleRate);
    this.manager.apply(next);
    this.log.info(`settings applied: ${describe(next)}`);
  }

  /**
   * Whether the settings file asks for the kill switch although it could not be applied: the
   * same fail-safe rule as resolveSettings (a value that cannot be read as off counts as on).
   * A file that does not even parse is searched as text; one that cannot be read at all
   * leaves the switch as it is.
   */
  private killRequestedDespite(error: unknown): boolean {
    if (error instanceof SettingsError) return error.killSwitch;
    try {
      return fileAsksForKillSwitch(this.store.read());
    } catch {
      try {
        return killSwitchInText(fs.readFileSync(this.store.path, 'utf8'));
      } catch {
        return false;
      }
    }
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
    removeSecretFile(this.store.dir);
    this.lock.release();
    this.log.info('relay stopped');
    await this.logFile?.close();
    return results;
  }
}

function settingsStoreOf(options: RelayOptions): SettingsStore {
  if (options.store === undefined) return new SettingsStore(options.configDir);
  if (options.configDir !== undefined && path.resolve(options.configDir) !== options.store.dir) {
    throw new Error(`the settings store is in ${options.store.dir}, not in the config dir ${path.resolve(options.configDir)}`);
  }
  return options.store;
}

/** "12 controls frame(s) never confirmed, 3 baseline frame(s) never written". */
export function describeUnconfirmed(r: FinishResult): string {
  return [
    ...Object.entries(r.unconfirmed).map(([stream, n]) => `${n} ${stream} frame(s) written but never confirmed by the gateway`),
    ...Object.entries(r.queued).map(([stream, n]) => `${n} ${stream} frame(s) never written (still queued)`),
  ].join(', ');
}

export function describe(s: Settings): string {
  const r = redactSettings(s);
  const targets = r.backends.map((b, i) => `#${i} ${backendLabel(b)}${b.enabled ? '' : ' (disabled)'}${i === s.primaryIndex && s.mode === 'single' ? ' (primary)' : ''}`);
  return `${s.killSwitch ? 'KILL SWITCH ON, ' : ''}${s.mode} mode, ${targets.length} backend(s)${targets.length ? ': ' + targets.join(', ') : ''}`;
}
