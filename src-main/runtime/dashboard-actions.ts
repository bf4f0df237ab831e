// What the dashboard, the CLI and the desktop window ask of a running relay (one method per
// HTTP operation of src-shared/bridge-operations.ts, and the views they read): the kill
// switch, settings changes written to the file and confirmed, the guided cutover, the report,
// and the state and health views. The composition root (relay.ts) builds it on the relay's
// parts; the HTTP API and the desktop shell's IPC call the same object.
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
import type { CutoverRequest, CutoverView } from '../../src-shared/cutover';
import type { HealthResponse } from '../../src-shared/debug-api';
import { SettingsError, formatProblem, isKillSwitchName, killSwitchValueProblem, maskUrl, readKillSwitch, resolveSettings, variableOf, type Env, type Settings } from '../../src-shared/settings';
import type { CutoverController } from '../cutover/cutover';
import type { RelayActions } from '../http/dashboard-api';
import type { LogFile } from '../log/log-file';
import type { Logger } from '../log/logger';
import type { BackendManager } from '../relay/backend-manager';
import type { FrameBuilder } from '../relay/frame-builder';
import { exportReport, LOG_TAIL_LINES, resumeOf } from '../report/build-report';
import type { SettingsStore } from '../settings/settings-store';
import { KILL_SWITCH_VARIABLE, planAssignments, planSettingsUpdate, type UpdatePlan } from '../settings/settings-update';
import type { TelemetrySource } from '../sources/source';
import { describe } from './describe';
import type { SettingsReload } from './settings-reload';
import { APP_VERSION } from './version';

/** How long a kill switch waits for the backend sockets to close before it answers (the spec asks 100 ms; a slow machine gets more, and says so). */
const KILL_CONFIRM_WAIT_MS = 1000;
/** The most recent timeline entries a dashboard snapshot carries. */
const STATE_TIMELINE_ENTRIES = 50;
/** The newest entries of the cutover's record a snapshot carries (the report keeps them all). */
const STATE_CUTOVER_EVENTS = 20;

export interface DashboardActionParts {
  store: SettingsStore;
  env: Env;
  /** Variables whose environment value overrides the file for this run. */
  envOverrides: string[];
  manager: BackendManager;
  builder: FrameBuilder;
  source: TelemetrySource;
  cutover: CutoverController;
  settings: SettingsReload;
  log: Logger;
  logFile: LogFile | null;
  /** The port the debug server listens on for this whole run. */
  debugPort: number;
  dashboardSecret: string;
  /** Epoch ms. */
  startedAt: number;
  /** Every session this run sent frames of (the composition root adds them). */
  sessions: ReadonlySet<string>;
  reportGatewayTimeoutMs: number | undefined;
  /** True once the relay stops. */
  stopping: () => boolean;
}

export class DashboardActions implements RelayActions {
  constructor(private readonly parts: DashboardActionParts) {}

  // ---- views --------------------------------------------------------------------------------

  healthView(): HealthResponse {
    const { manager, builder, source, store, startedAt } = this.parts;
    const health = manager.health({
      version: APP_VERSION,
      sessionId: builder.sessionId,
      source: {
        kind: source.kind,
        state: source.state,
        connected: source.state !== 'not-running',
        framesProduced: source.framesProduced,
        sessionId: source.session?.sessionId ?? null,
        ...(source.stats ? { stats: source.stats() } : {}),
      },
      uptimeMs: Date.now() - startedAt,
    });
    return { ...health, pid: process.pid, configDir: store.dir };
  }

  getState(): DashboardState {
    const { manager, builder, cutover } = this.parts;
    const s = manager.settings;
    const timeline = manager.timeline();
    return {
      at: Date.now(),
      targets: manager.targetsView(),
      parity: manager.parityView(builder.sessionId),
      health: this.healthView(),
      settings: this.dashboardSettings(s),
      timeline: timeline.slice(-STATE_TIMELINE_ENTRIES),
      cutover: cutover.view({ recentEvents: STATE_CUTOVER_EVENTS }),
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
      envOverrides: [...this.parts.envOverrides],
    };
  }

  getHistory(): LatencyHistory {
    return this.parts.manager.latencyHistory();
  }

  cutoverView(): { ok: true; cutover: CutoverView | null } {
    return { ok: true, cutover: this.parts.cutover.view() };
  }

  // ---- the kill switch ----------------------------------------------------------------------

  /**
   * The kill switch from the tray, the window or the dashboard: saved in the file like
   * `relay kill` (whatever else the file holds) and in force before this returns, even when
   * the rest of the file is broken.
   */
  applyKillSwitch({ on }: KillSwitchRequest): ActionResult {
    const { store, manager, log } = this.parts;
    if (this.parts.stopping()) {
      // The end of a run may wait seconds for slow gateways: the kill switch still bites then.
      if (!on) return failure(503, 'the relay is stopping');
      manager.apply({ ...manager.settings, killSwitch: true });
      log.warn('KILL SWITCH ON while stopping: every backend cut off');
      return { ok: true };
    }
    if (!on && this.envKillSwitchOn()) {
      return failure(409, `${KILL_SWITCH_VARIABLE} is on in the environment of this relay run: the kill switch stays on until the relay is restarted without it`);
    }
    let saveError: string | null = null;
    try {
      store.write({ ...store.read(), killSwitch: on });
    } catch (e) {
      saveError = (e as Error).message;
    }
    this.parts.settings.reload();
    if (manager.settings.killSwitch !== on) {
      // reload() keeps the last good settings when the file has other problems: the switch itself must still bite.
      log.warn(on ? 'KILL SWITCH ON (from the dashboard): every backend cut off' : 'kill switch off (from the dashboard): backends reconnecting');
      manager.apply({ ...manager.settings, killSwitch: on });
    }
    if (saveError !== null) {
      log.error(`kill switch ${on ? 'on' : 'off'} applied for this run, but not saved: ${saveError}`);
      return failure(500, `the kill switch is ${on ? 'on' : 'off'} for this run, but it could not be saved in the settings file: ${saveError}`);
    }
    return { ok: true };
  }

  /**
   * The kill switch from the CLI or the dashboard, applied as applyKillSwitch does, then
   * confirmed: how many backend connections it closed, and how long until none was open.
   */
  async setKillSwitch(request: KillSwitchRequest): Promise<ActionResult> {
    const { manager, store, env } = this.parts;
    const before = manager.liveSockets();
    const started = performance.now();
    const result = this.applyKillSwitch(request);
    if (!result.ok) return result;
    let stillOpen = manager.liveSockets();
    if (request.on) {
      const until = started + KILL_CONFIRM_WAIT_MS;
      while (stillOpen > 0 && performance.now() < until) {
        await new Promise((r) => setTimeout(r, 2));
        stillOpen = manager.liveSockets();
      }
    }
    const withinMs = Math.round((performance.now() - started) * 10) / 10;
    // The switch bites whatever else the file holds; what else is wrong there is said, not hidden.
    const warnings: string[] = [];
    try {
      resolveSettings(store.read(), env);
    } catch (e) {
      const detail = e instanceof SettingsError ? e.message : (e as Error).message;
      warnings.push(`other settings in the file have problems and were left as they are (the kill switch applies regardless): ${detail.split('\n').join('; ')}`);
    }
    return {
      ok: true,
      confirmation: {
        ...this.confirmationBase([KILL_SWITCH_VARIABLE], warnings),
        killSwitch: { on: manager.settings.killSwitch, closed: request.on ? before - stillOpen : 0, stillOpen: request.on ? stillOpen : 0, withinMs },
      },
    };
  }

  private envKillSwitchOn(): boolean {
    const text = this.parts.env[KILL_SWITCH_VARIABLE];
    if (text === undefined) return false;
    try {
      return resolveSettings({}, { [KILL_SWITCH_VARIABLE]: text }).settings.killSwitch;
    } catch {
      return false;
    }
  }

  // ---- settings changes ---------------------------------------------------------------------

  private confirmationBase(changed: string[], warnings: string[] = []): ChangeConfirmation {
    const { debugPort, store, manager } = this.parts;
    const notes: string[] = [];
    const port = variableOf('debugPort');
    if (changed.includes(port)) notes.push(`${port} applies at the next start; this relay keeps listening on ${debugPort}`);
    return { pid: process.pid, configDir: store.dir, summary: describe(manager.settings), changed, notes, warnings };
  }

  /**
   * Writes a planned settings file and applies it at once; ok only when the relay then runs
   * with exactly what the file and its environment say (the change is confirmed, not assumed).
   */
  private applyPlan(plan: Extract<UpdatePlan, { ok: true }>, who: string): ActionResult {
    const { store, env, manager, log } = this.parts;
    const expected = resolveSettings(plan.file, env).settings;
    try {
      store.write(plan.file);
    } catch (e) {
      return failure(500, `the settings could not be saved: ${(e as Error).message}`);
    }
    log.info(`settings changed ${who}${plan.changed.length ? `: ${plan.changed.join(', ')}` : ''}`);
    this.parts.settings.reload();
    const now = manager.settings;
    if (JSON.stringify({ ...now, debugPort: 0 }) !== JSON.stringify({ ...expected, debugPort: 0 })) {
      return failure(500, `the settings were saved, but the relay did not apply them (see its log); it runs with: ${describe(now)}`);
    }
    return { ok: true, confirmation: this.confirmationBase(plan.changed, plan.warnings) };
  }

  /** A settings change from the dashboard: checked whole, written to the settings file, applied at once. */
  updateSettings(update: SettingsUpdate): ActionResult {
    if (this.parts.stopping()) return failure(503, 'the relay is stopping');
    const file = this.readFileForChange();
    if (!file.ok) return file;
    const plan = planSettingsUpdate(file.file, update, this.parts.manager.settings, this.parts.envOverrides, this.parts.env);
    if (!plan.ok) return plan;
    return this.applyPlan(plan, 'from the dashboard');
  }

  /**
   * `relay set NAME VALUE` and `relay set A=1 B=2 ...` from the CLI: read with the settings
   * file's rules, refused when this relay's environment pins one of them, applied as one change.
   * The kill switch alone takes the kill switch's own path (no other setting can block it).
   */
  async assignSettings(request: AssignSettingsRequest): Promise<ActionResult> {
    if (this.parts.stopping()) return failure(503, 'the relay is stopping');
    const only = request.assignments.length === 1 ? request.assignments[0] : undefined;
    if (only && isKillSwitchName(only.name)) {
      const on = readKillSwitch(only.value);
      if (on === undefined) return failure(400, 'the kill switch was not changed', [formatProblem(killSwitchValueProblem(only.value))]);
      return this.setKillSwitch({ on });
    }
    const file = this.readFileForChange();
    if (!file.ok) return file;
    const plan = planAssignments(file.file, request.assignments, { envOverrides: this.parts.envOverrides, env: this.parts.env, ...(request.force ? { force: true } : {}) });
    if (!plan.ok) return plan;
    return this.applyPlan(plan, 'by relay set');
  }

  /** A whole settings file from the cutover: checked with this relay's environment, written, applied. */
  writeSettings(file: Record<string, unknown>, why: string): ActionResult {
    if (this.parts.stopping()) return failure(503, 'the relay is stopping');
    let warnings: string[];
    try {
      warnings = resolveSettings(file, this.parts.env).warnings;
    } catch (e) {
      if (e instanceof SettingsError) return failure(400, 'the settings are not valid; nothing was saved', e.problems.map(formatProblem));
      throw e;
    }
    return this.applyPlan({ ok: true, file, changed: [], warnings }, `(${why})`);
  }

  private readFileForChange(): { ok: true; file: Record<string, unknown> } | ActionFailure {
    try {
      return { ok: true, file: this.parts.store.read() };
    } catch (e) {
      return failure(500, `the settings file cannot be read, so nothing was changed: ${(e as Error).message}`);
    }
  }

  // ---- the cutover and the report -----------------------------------------------------------

  cutover(request: CutoverRequest): CutoverResult {
    if (this.parts.stopping()) return failure(503, 'the relay is stopping');
    return this.parts.cutover.request(request);
  }

  async exportReport(): Promise<ReportExport | ActionFailure> {
    const { manager, builder, sessions, envOverrides, logFile, dashboardSecret, startedAt, cutover, env, reportGatewayTimeoutMs, log } = this.parts;
    try {
      // 'pending' names the wait for the sim's first session, before any frame: not a session of its own.
      const ran = [...sessions].filter((s) => s !== 'pending' || s === builder.sessionId);
      return await exportReport({
        manager,
        sessionId: builder.sessionId,
        sessions: ran,
        resumedFrom: resumeOf(builder.hello()),
        sourceGaps: builder.sourceGaps(),
        health: this.healthView(),
        envOverrides,
        logTail: () => logFile?.tail(LOG_TAIL_LINES) ?? Promise.resolve([]),
        secrets: [dashboardSecret],
        relayUptimeMs: Date.now() - startedAt,
        cutovers: cutover.records(),
        env: { ...process.env, ...env },
        ...(reportGatewayTimeoutMs !== undefined ? { gatewayTimeoutMs: reportGatewayTimeoutMs } : {}),
      });
    } catch (e) {
      log.error(`report failed: ${(e as Error).message}`);
      return failure(500, `the report could not be built: ${(e as Error).message}`);
    }
  }
}
