// The guided cutover: the spec's blue/green playbook (add B, parallel, verify parity, switch
// the primary, single mode, disable A, decommission A) as one state machine in the relay.
// The CLI and the dashboard only start it and press its buttons; the report keeps its record.
//
// Each step changes the settings the way an operator would (the settings file, applied at
// once), then waits for its effect to be confirmed by what the relay sees: the new target
// connected and its gateway confirming deliveries, the old one standing by, the parity
// verdict healthy for the whole window on the relay's own clock. A step whose effect does
// not come within its time limit fails, and the procedure stops there for the operator.
//
// Every step keeps the settings as they were before it, so rollback restores exactly those,
// and only after checking that telemetry would still reach a backend whose gateway is
// confirming deliveries right now. The kill switch is never touched.
import { failure, type ActionFailure, type ActionResult, type CutoverResult } from '../../src-shared/bridge';
import {
  CUTOVER_STEPS,
  CUTOVER_STEP_TITLES,
  type CutoverBackend,
  type CutoverEventKind,
  type CutoverEvent,
  type CutoverParity,
  type CutoverRequest,
  type CutoverStepName,
  type CutoverStepStatus,
  type CutoverView,
  type CutoverTargetFigures,
} from '../../src-shared/cutover';
import type { ParityResponse, TargetView, TargetsResponse } from '../../src-shared/debug-api';
import {
  BACKEND_LIST_VARIABLES,
  BACKEND_NAME_EXPECTED,
  backendLabel,
  isBackendName,
  isWsUrl,
  maskUrl,
  resolveSettings,
  variableOf,
  type Env,
  type Settings,
} from '../../src-shared/settings';
import { systemClock, type Clock } from '../runtime/clock';
import type { Logger } from '../log/logger';

/** The part of the settings file a cutover changes, and restores on rollback. */
export interface CutoverSnapshot {
  backends: unknown;
  mode: unknown;
  primaryIndex: unknown;
}

export interface CutoverHost {
  settings(): Settings;
  targets(): TargetsResponse;
  parity(): ParityResponse;
  /** The settings file as it is now (tokens in plain, as the relay reads them). */
  readFile(): Record<string, unknown>;
  /** Writes a whole new file and applies it at once; a failure says why in words. */
  writeFile(file: Record<string, unknown>, why: string): ActionResult;
  readonly envOverrides: readonly string[];
  readonly env: Env;
  readonly log: Logger;
}

export interface CutoverOptions {
  /** How long a step waits for its effect before it fails. */
  stepTimeoutMs?: number;
  /** How often the machine looks at the relay. */
  tickMs?: number;
  /** The relay's clock, which parity.healthySinceMs is read on. */
  clock?: Pick<Clock, 'now'>;
}

export const DEFAULT_STEP_TIMEOUT_MS = 30_000;
const TICK_MS = 200;
/** Events kept per cutover: every step's few, and the hold's progress at most once per 10 s. */
const MAX_EVENTS = 400;
const HOLD_NOTE_EVERY_MS = 10_000;

interface StepState {
  name: CutoverStepName;
  status: CutoverStepStatus;
  startedAt: number | null;
  endedAt: number | null;
  detail: string;
  /** The file's backends, mode and primary before this step changed them; null when it changed nothing. */
  before: CutoverSnapshot | null;
}

interface Run {
  id: string;
  fromUrl: string;
  toUrl: string;
  from: CutoverBackend;
  to: CutoverBackend;
  toToken: string | undefined;
  toName: string | undefined;
  windowMs: number;
  removeOld: boolean;
  phase: CutoverView['phase'];
  current: CutoverStepName | null;
  steps: StepState[];
  events: CutoverEvent[];
  startedAt: number;
  endedAt: number | null;
  problem: string | null;
  lastHoldNote: number;
  /** While rolling back: the step being undone, when it started, and what must be confirming afterwards. */
  undoing: { step: StepState; since: number; expect: string[] } | null;
}


/** The variables a cutover changes: pinned by the environment, it cannot run. */
const CUTOVER_VARIABLES = [...BACKEND_LIST_VARIABLES, variableOf('mode'), variableOf('primaryIndex')];

export class CutoverController {
  private run: Run | null = null;
  private readonly finished: CutoverView[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly stepTimeoutMs: number;
  private readonly tickMs: number;
  private readonly now: () => number;
  private seq = 0;

  constructor(
    private readonly host: CutoverHost,
    options: CutoverOptions = {},
  ) {
    this.stepTimeoutMs = options.stepTimeoutMs ?? DEFAULT_STEP_TIMEOUT_MS;
    this.tickMs = options.tickMs ?? TICK_MS;
    const clock = options.clock ?? systemClock;
    this.now = () => clock.now();
  }

  /**
   * The cutover in progress, or the last one; null when none has run. `recentEvents` keeps
   * only the newest entries of its record (the dashboard's snapshots, pushed twice a second);
   * the CLI and the report read it whole.
   */
  view(options: { recentEvents?: number } = {}): CutoverView | null {
    if (!this.run) return null;
    const v = this.viewOf(this.run);
    return options.recentEvents === undefined ? v : { ...v, events: v.events.slice(-options.recentEvents) };
  }

  /** Every cutover of this relay run, oldest first: what the report records. */
  records(): CutoverView[] {
    return [...this.finished, ...(this.run ? [this.viewOf(this.run)] : [])];
  }

  request(request: CutoverRequest): CutoverResult {
    const result = request.action === 'start' ? this.start(request) : this.act(request.action);
    if (!result.ok) return result;
    this.tick();
    return { ok: true, cutover: this.viewOf(this.run as Run) };
  }

  dispose(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  // ---- starting -----------------------------------------------------------------------

  private start(request: Extract<CutoverRequest, { action: 'start' }>): ActionResult {
    if (this.run && this.active(this.run)) {
      return failure(409, `a cutover to ${this.run.to.url} is in progress (${this.run.phase}${this.run.current ? ` at "${CUTOVER_STEP_TITLES[this.run.current]}"` : ''}): finish, roll back or abort it first`);
    }
    const pinned = CUTOVER_VARIABLES.filter((v) => this.host.envOverrides.includes(v));
    if (pinned.length > 0) {
      return failure(409, `${pinned.join(', ')} ${pinned.length > 1 ? 'are' : 'is'} set in the environment of the running relay: a cutover changes ${pinned.length > 1 ? 'them' : 'it'} in the settings file, where the change would not take effect. Restart the relay without ${pinned.length > 1 ? 'them' : 'it'} first.`);
    }
    const settings = this.host.settings();
    if (settings.killSwitch) return failure(409, 'the kill switch is on: nothing is sent, so no step of a cutover could be confirmed. Turn it off first.');
    const to = request.to.trim();
    if (!isWsUrl(to)) return failure(400, `--to: "${maskUrl(to)}" is not a ws:// or wss:// URL; expected the new gateway, such as wss://gateway-b.example.com/relay`);
    const name = request.name?.trim() || undefined;
    if (name !== undefined && !isBackendName(name)) return failure(400, `the name "${name}" is not valid; expected ${BACKEND_NAME_EXPECTED}`);
    const from = settings.backends[settings.primaryIndex];
    if (!from) return failure(409, 'no backend is configured: there is nothing to cut over from. Add the new backend with relay set RELAY_BACKENDS instead.');
    if (from.url === to) return failure(409, `${backendLabel(from)} is the primary already: nothing to cut over`);
    const existing = settings.backends.find((b) => b.url === to);
    const fromLabel: CutoverBackend = { url: maskUrl(from.url), name: from.name ?? null };
    const toLabel: CutoverBackend = { url: maskUrl(to), name: name ?? existing?.name ?? null };
    this.seq += 1;
    const run: Run = {
      id: `cutover-${this.now()}-${this.seq}`,
      fromUrl: from.url,
      toUrl: to,
      from: fromLabel,
      to: toLabel,
      toToken: request.token,
      toName: name,
      windowMs: request.windowMs,
      removeOld: request.removeOld,
      phase: 'running',
      current: 'add',
      steps: CUTOVER_STEPS.map((n) => ({ name: n, status: 'pending', startedAt: null, endedAt: null, detail: '', before: null })),
      events: [],
      startedAt: this.now(),
      endedAt: null,
      problem: null,
      lastHoldNote: 0,
      undoing: null,
    };
    if (this.run) this.finished.push(this.viewOf(this.run));
    this.run = run;
    this.record(run, null, 'started', `cutover from ${labelOf(fromLabel)} to ${labelOf(toLabel)}, parity window ${seconds(run.windowMs)}${run.removeOld ? ', removing the old backend at the end' : ''}`);
    this.host.log.warn(`cutover started: from ${labelOf(fromLabel)} to ${labelOf(toLabel)}`);
    this.ensureTimer();
    return { ok: true };
  }

  // ---- the operator's buttons -----------------------------------------------------------

  private act(action: 'pause' | 'resume' | 'abort' | 'rollback' | 'remove' | 'retry'): ActionResult {
    const run = this.run;
    if (!run) return failure(409, 'no cutover has run in this relay: start one with relay cutover --to <url>');
    switch (action) {
      case 'pause':
        if (run.phase !== 'running') return failure(409, `the cutover is ${run.phase}, not running: nothing to pause`);
        run.phase = 'paused';
        run.problem = 'paused by the operator';
        this.record(run, run.current, 'paused', 'paused by the operator: no further step until resumed');
        return { ok: true };
      case 'resume':
      case 'retry': {
        if (run.phase !== 'paused' && run.phase !== 'failed') return failure(409, `the cutover is ${run.phase}: nothing to ${action}`);
        const step = run.current ? this.step(run, run.current) : null;
        // A failed step is tried again from its start: its settings are already in force, its effect is
        // awaited anew. A step that was waiting when paused waits afresh too: its time limit counts from now.
        if (step && (step.status === 'failed' || step.status === 'running')) {
          if (step.status === 'failed') step.detail = 'waiting again for its effect';
          step.status = 'running';
          step.startedAt = this.now();
        }
        run.phase = 'running';
        run.problem = null;
        this.record(run, run.current, 'resumed', action === 'retry' ? 'retrying the step' : 'resumed by the operator');
        this.ensureTimer();
        return { ok: true };
      }
      case 'remove': {
        if (run.phase !== 'completed') return failure(409, `the old backend is removed at the end of a completed cutover; this one is ${run.phase}`);
        const remove = this.step(run, 'remove');
        if (remove.status === 'done') return failure(409, `${labelOf(run.from)} was removed already`);
        remove.status = 'pending';
        remove.detail = '';
        run.removeOld = true;
        run.phase = 'running';
        run.current = 'remove';
        run.endedAt = null;
        this.record(run, 'remove', 'resumed', 'removing the old backend, as asked');
        this.ensureTimer();
        return { ok: true };
      }
      case 'rollback':
        return this.rollback(run);
      case 'abort':
        return this.abort(run);
    }
  }

  /** Undoes the last step that changed the settings: restores them as they were before it. */
  private rollback(run: Run): ActionResult {
    if (run.phase === 'rolling-back') return failure(409, 'a rollback is in progress: wait for it to be confirmed');
    const undo = [...run.steps].reverse().find((s) => s.before !== null && (s.status === 'done' || s.status === 'running' || s.status === 'failed'));
    if (!undo) return failure(409, 'no step of this cutover is left to roll back: the settings are as they were before it began');
    const check = this.safeToRestore(undo.before as CutoverSnapshot);
    if (!check.ok) {
      this.record(run, undo.name, 'refused', `rollback of "${CUTOVER_STEP_TITLES[undo.name]}" refused: ${check.error}`);
      return check;
    }
    const applied = this.restore(undo.before as CutoverSnapshot, `cutover rollback: ${undo.name}`);
    if (!applied.ok) return applied;
    // Steps after it that changed nothing (the hold) go back to waiting too.
    for (const s of run.steps.slice(run.steps.indexOf(undo) + 1)) {
      if (s.status !== 'pending' && s.status !== 'skipped') {
        s.status = 'pending';
        s.detail = '';
      }
    }
    undo.status = 'undone';
    undo.endedAt = null;
    undo.detail = 'rolling back: the settings before this step restored, waiting for deliveries to be confirmed';
    run.phase = 'rolling-back';
    run.current = undo.name;
    run.endedAt = null;
    run.undoing = { step: undo, since: this.now(), expect: check.expect };
    this.record(run, undo.name, 'undone', `settings restored as they were before "${CUTOVER_STEP_TITLES[undo.name]}"`);
    this.host.log.warn(`cutover: rolled back "${CUTOVER_STEP_TITLES[undo.name]}"`);
    this.ensureTimer();
    return { ok: true };
  }

  /** Stops the procedure; a step applied but not yet confirmed is undone first (when that is safe). */
  private abort(run: Run): ActionResult {
    if (!this.active(run)) return failure(409, `the cutover is ${run.phase} already`);
    let detail = 'aborted by the operator; the steps done stay in force (relay rollback undoes them one by one)';
    const open = run.steps.find((s) => (s.status === 'running' || s.status === 'failed') && s.before !== null);
    if (open) {
      const check = this.safeToRestore(open.before as CutoverSnapshot);
      if (check.ok && this.restore(open.before as CutoverSnapshot, `cutover abort: ${open.name}`).ok) {
        open.status = 'undone';
        open.detail = 'undone by the abort: its settings restored';
        detail = `aborted by the operator: "${CUTOVER_STEP_TITLES[open.name]}" was not confirmed yet, so its settings were restored; the steps done before it stay in force`;
      } else {
        detail = `aborted by the operator; "${CUTOVER_STEP_TITLES[open.name]}" stays applied: ${check.ok ? 'its settings could not be restored' : check.error}`;
      }
    }
    run.phase = 'aborted';
    run.problem = null;
    run.undoing = null;
    run.endedAt = this.now();
    this.record(run, run.current, 'aborted', detail);
    run.current = null;
    this.host.log.warn(`cutover: ${detail}`);
    return { ok: true };
  }

  /**
   * Whether restoring these settings leaves telemetry going to a backend whose gateway is
   * confirming deliveries now. Otherwise the rollback is refused: it must never trade a
   * working state for one that sends to a dead gateway.
   */
  private safeToRestore(before: CutoverSnapshot): ({ ok: true; expect: string[] }) | ActionFailure {
    let restored: Settings;
    try {
      restored = resolveSettings({ ...this.host.readFile(), ...before }, this.host.env).settings;
    } catch (e) {
      return failure(409, `the settings before that step are no longer valid with the rest of the file: ${(e as Error).message}`);
    }
    const parity = this.host.parity();
    const confirming = new Set(parity.perTarget.filter((p) => p.confirming).map((p) => p.url));
    const active = restored.backends.filter((b, i) => b.enabled && (restored.mode === 'parallel' || i === restored.primaryIndex));
    const healthy = active.filter((b) => confirming.has(maskUrl(b.url)));
    if (this.host.settings().killSwitch) return { ok: true, expect: [] };
    if (healthy.length === 0) {
      const names = active.map((b) => backendLabel(b)).join(' and ') || 'no backend';
      return failure(409, `it would send telemetry only to ${names}, whose gateway is not confirming deliveries now; nothing was changed. Fix that gateway first, or roll forward.`);
    }
    return { ok: true, expect: healthy.map((b) => maskUrl(b.url)) };
  }

  private restore(before: CutoverSnapshot, why: string): ActionResult {
    const file = { ...this.host.readFile() };
    for (const key of ['backends', 'mode', 'primaryIndex'] as const) {
      if (before[key] === undefined) delete file[key];
      else file[key] = before[key];
    }
    return this.host.writeFile(file, why);
  }

  // ---- the machine ----------------------------------------------------------------------

  private active(run: Run): boolean {
    return run.phase === 'running' || run.phase === 'paused' || run.phase === 'failed' || run.phase === 'rolling-back';
  }

  private ensureTimer(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.tickMs);
    this.timer.unref();
  }

  /** One look at the relay: applies the next step, or checks the effect of the one waiting. */
  tick(): void {
    const run = this.run;
    if (!run || !this.active(run)) {
      this.dispose();
      return;
    }
    if (run.phase === 'rolling-back') {
      this.checkUndo(run);
      return;
    }
    if (run.phase !== 'running' || run.current === null) return;
    // Several steps can complete in one look (one already in force is skipped at once).
    for (let guard = 0; guard < CUTOVER_STEPS.length && run.phase === 'running' && run.current !== null; guard++) {
      const step = this.step(run, run.current);
      if (step.status === 'pending' || step.status === 'undone') this.apply(run, step);
      if (step.status === 'running') this.check(run, step);
      if (step.status !== 'done' && step.status !== 'skipped') return;
      this.advance(run);
    }
  }

  private step(run: Run, name: CutoverStepName): StepState {
    return run.steps.find((s) => s.name === name) as StepState;
  }

  private advance(run: Run): void {
    const next = CUTOVER_STEPS[CUTOVER_STEPS.indexOf(run.current as CutoverStepName) + 1];
    if (next === 'remove' && !run.removeOld) {
      const remove = this.step(run, 'remove');
      remove.status = 'skipped';
      remove.detail = `not asked for: ${labelOf(run.from)} stays configured, disabled (relay cutover remove, or the panel's Remove button, removes it)`;
    }
    if (next === undefined || (next === 'remove' && !run.removeOld)) {
      run.phase = 'completed';
      run.current = null;
      run.endedAt = this.now();
      this.record(run, null, 'completed', `cutover completed: telemetry goes to ${labelOf(run.to)}${run.removeOld ? '' : `; ${labelOf(run.from)} is disabled, not removed`}`);
      this.host.log.warn(`cutover completed: ${labelOf(run.to)} is the primary`);
      return;
    }
    run.current = next;
  }

  /** Applies a step's change to the settings; a step already in force is skipped. */
  private apply(run: Run, step: StepState): void {
    const file = this.host.readFile();
    const before: CutoverSnapshot = { backends: structuredClone(file.backends), mode: file.mode, primaryIndex: file.primaryIndex };
    const settings = this.host.settings();
    const toIndex = settings.backends.findIndex((b) => b.url === run.toUrl);
    const fromIndex = settings.backends.findIndex((b) => b.url === run.fromUrl);
    const entries = settings.backends.map((b) => ({ url: b.url, enabled: b.enabled, ...(b.token ? { token: b.token } : {}), ...(b.name ? { name: b.name } : {}) }));
    let next: Record<string, unknown> | null = null;
    let skipped = '';
    switch (step.name) {
      case 'add':
        if (toIndex < 0) {
          next = { ...file, backends: [...entries, { url: run.toUrl, enabled: true, ...(run.toToken ? { token: run.toToken } : {}), ...(run.toName ? { name: run.toName } : {}) }] };
        } else if (!entries[toIndex]?.enabled || (run.toToken && entries[toIndex]?.token !== run.toToken) || (run.toName && entries[toIndex]?.name !== run.toName)) {
          next = { ...file, backends: entries.map((e, i) => (i === toIndex ? { ...e, enabled: true, ...(run.toToken ? { token: run.toToken } : {}), ...(run.toName ? { name: run.toName } : {}) } : e)) };
        } else skipped = `${labelOf(run.to)} is configured and enabled already`;
        break;
      case 'parallel':
        if (settings.mode === 'parallel') skipped = 'parallel mode is in force already';
        else next = { ...file, mode: 'parallel' };
        break;
      case 'hold':
        // Changes nothing: it waits on the relay's verdict.
        step.status = 'running';
        step.startedAt = this.now();
        step.detail = 'waiting for the relay\'s parity verdict to be healthy for the whole window';
        step.before = null;
        this.record(run, step.name, 'applied', `holding: parity must stay healthy for ${seconds(run.windowMs)} on the relay's clock`);
        return;
      case 'primary':
        if (toIndex < 0) return this.fail(run, step, `${labelOf(run.to)} is no longer configured (someone changed the backends)`);
        if (settings.primaryIndex === toIndex) skipped = `${labelOf(run.to)} is the primary already`;
        else next = { ...file, primaryIndex: toIndex };
        break;
      case 'single':
        if (settings.mode === 'single' && settings.primaryIndex === toIndex) skipped = 'single mode with the new primary is in force already';
        else next = { ...file, mode: 'single' };
        break;
      case 'disable':
        if (fromIndex < 0) skipped = `${labelOf(run.from)} is not configured any more`;
        else if (!entries[fromIndex]?.enabled) skipped = `${labelOf(run.from)} is disabled already`;
        else next = { ...file, backends: entries.map((e, i) => (i === fromIndex ? { ...e, enabled: false } : e)) };
        break;
      case 'remove': {
        if (fromIndex < 0) {
          skipped = `${labelOf(run.from)} is not configured any more`;
          break;
        }
        const kept = entries.filter((_, i) => i !== fromIndex);
        next = { ...file, backends: kept, primaryIndex: Math.max(0, kept.findIndex((e) => e.url === run.toUrl)) };
        break;
      }
    }
    step.startedAt = this.now();
    if (next === null) {
      step.status = 'skipped';
      step.endedAt = this.now();
      step.detail = `${skipped}: nothing to change`;
      this.record(run, step.name, 'skipped', step.detail);
      return;
    }
    const result = this.host.writeFile(next, `cutover: ${step.name}`);
    if (!result.ok) return this.fail(run, step, `the settings change was refused: ${result.error}${result.problems ? ` (${result.problems.join('; ')})` : ''}`);
    step.before = before;
    step.status = 'running';
    step.detail = 'applied; waiting for its effect to be confirmed';
    this.record(run, step.name, 'applied', `${CUTOVER_STEP_TITLES[step.name]}: applied, waiting for its effect`);
  }

  /** Whether the step's effect is confirmed by what the relay sees; a step past its time limit fails. */
  private check(run: Run, step: StepState): void {
    const since = step.startedAt ?? this.now();
    const targets = this.host.targets();
    const to = findTarget(targets.targets, run.to.url);
    const from = findTarget(targets.targets, run.from.url);
    const confirmedSince = (t: TargetView | undefined): boolean => t !== undefined && t.state === 'connected' && t.lastConfirmMs !== null && t.lastConfirmMs >= since;
    let done: string | null = null;
    let waiting = '';
    switch (step.name) {
      case 'add':
        if (to) done = `${labelOf(run.to)} is configured (${to.state})`;
        else waiting = `${labelOf(run.to)} is not among the relay's targets yet`;
        break;
      case 'parallel':
        if (targets.mode === 'parallel' && confirmedSince(to) && (from === undefined || !from.enabled || confirmedSince(from))) {
          done = `both gateways confirm deliveries: ${labelOf(run.to)} and ${labelOf(run.from)}`;
        } else waiting = `waiting for ${[!confirmedSince(to) ? labelOf(run.to) : null, from && from.enabled && !confirmedSince(from) ? labelOf(run.from) : null].filter(Boolean).join(' and ')} to confirm a delivery (${describeTarget(to)})`;
        break;
      case 'hold': {
        const parity = this.host.parity();
        const healthyFor = parity.verdict.status === 'healthy' && parity.healthySinceMs !== null ? this.now() - parity.healthySinceMs : null;
        if (healthyFor !== null && healthyFor >= run.windowMs) {
          done = `the relay's parity verdict has been healthy for ${seconds(healthyFor)} (window ${seconds(run.windowMs)}), drift ${parity.driftPct}%`;
        } else {
          step.detail =
            healthyFor === null
              ? `waiting: the relay's parity verdict is ${parity.verdict.status}${parity.verdict.reasons.length ? ` (${parity.verdict.reasons.join('; ')})` : ''}, so the window has not started`
              : `healthy for ${seconds(healthyFor)} of ${seconds(run.windowMs)}`;
          if (this.now() - run.lastHoldNote >= HOLD_NOTE_EVERY_MS) {
            run.lastHoldNote = this.now();
            this.record(run, 'hold', 'waiting', step.detail);
          }
          // The hold has no time limit: parity decides, or the operator.
          return;
        }
        break;
      }
      case 'primary':
        if (to?.primary && targets.targets.indexOf(to) === targets.primaryIndex) done = `${labelOf(run.to)} is the primary`;
        else waiting = `${labelOf(run.to)} is not the primary yet`;
        break;
      case 'single':
        if (targets.mode === 'single' && to?.primary && confirmedSince(to) && (from === undefined || from.state === 'standby' || from.state === 'disabled')) {
          done = `single mode: ${labelOf(run.to)} confirms deliveries; ${labelOf(run.from)} stands by (${from?.state ?? 'gone'})`;
        } else waiting = `waiting for single mode with ${labelOf(run.to)} confirming deliveries (${describeTarget(to)})`;
        break;
      case 'disable':
        if ((from === undefined || from.state === 'disabled') && confirmedSince(to)) done = `${labelOf(run.from)} is disabled; ${labelOf(run.to)} confirms deliveries`;
        else waiting = `waiting for ${labelOf(run.from)} to be disabled (${from?.state ?? 'gone'}) and ${labelOf(run.to)} to confirm a delivery`;
        break;
      case 'remove':
        if (from === undefined && confirmedSince(to)) done = `${labelOf(run.from)} is removed (its account stays in the report); ${labelOf(run.to)} confirms deliveries`;
        else waiting = `waiting for ${labelOf(run.from)} to be removed and ${labelOf(run.to)} to confirm a delivery`;
        break;
    }
    if (done !== null) {
      step.status = 'done';
      step.endedAt = this.now();
      step.detail = done;
      this.record(run, step.name, 'confirmed', done);
      return;
    }
    step.detail = waiting;
    if (this.now() - since > this.stepTimeoutMs) this.fail(run, step, `not confirmed within ${seconds(this.stepTimeoutMs)}: ${waiting}`);
  }

  private checkUndo(run: Run): void {
    const undoing = run.undoing;
    if (!undoing) return;
    const parity = this.host.parity();
    const confirmingNow = parity.perTarget.filter((p) => p.confirming && undoing.expect.includes(p.url));
    const targets = this.host.targets();
    const fresh = targets.targets.filter((t) => undoing.expect.includes(t.url) && t.lastConfirmMs !== null && t.lastConfirmMs >= undoing.since);
    if (undoing.expect.length === 0 || (confirmingNow.length > 0 && fresh.length > 0)) {
      undoing.step.detail = `rolled back: the settings before this step are in force${fresh.length ? `; ${fresh.map((t) => labelOf({ url: t.url, name: t.name })).join(' and ')} confirm${fresh.length > 1 ? '' : 's'} deliveries` : ''}`;
      run.phase = 'paused';
      run.problem = `rolled back "${CUTOVER_STEP_TITLES[undoing.step.name]}": resume to apply it again, roll back further, or abort`;
      run.undoing = null;
      this.record(run, undoing.step.name, 'confirmed', undoing.step.detail);
      return;
    }
    if (this.now() - undoing.since > this.stepTimeoutMs) {
      run.phase = 'failed';
      run.problem = `the rollback of "${CUTOVER_STEP_TITLES[undoing.step.name]}" is applied, but no delivery was confirmed within ${seconds(this.stepTimeoutMs)}`;
      run.undoing = null;
      this.record(run, undoing.step.name, 'failed', run.problem);
    }
  }

  private fail(run: Run, step: StepState, why: string): void {
    step.status = 'failed';
    step.endedAt = this.now();
    step.detail = why;
    run.phase = 'failed';
    run.problem = `"${CUTOVER_STEP_TITLES[step.name]}" failed: ${why}. Retry it, roll back or abort.`;
    this.record(run, step.name, 'failed', why);
    this.host.log.error(`cutover: ${run.problem}`);
  }

  // ---- views ------------------------------------------------------------------------------

  private record(run: Run, step: CutoverStepName | null, kind: CutoverEventKind, detail: string): void {
    run.events.push({ at: this.now(), step, kind, detail, parity: this.parityNow(run) });
    if (run.events.length > MAX_EVENTS) run.events.splice(1, run.events.length - MAX_EVENTS);
  }

  private parityNow(run: Run): CutoverParity {
    const parity = this.host.parity();
    const targets = this.host.targets();
    const all = [...targets.targets, ...targets.removed];
    const figures = (b: CutoverBackend): CutoverTargetFigures[] => {
      const t = all.find((x) => x.url === b.url);
      if (!t) return [];
      const c = t.counters;
      return [
        {
          url: t.url,
          name: t.name ?? b.name,
          state: t.state,
          delivered: c.delivered,
          inFlight: c.inFlight,
          queued: c.queued,
          dropped: c.dropped,
          lost: c.lost,
          driftPct: t.driftPct,
          p50: t.ackLatency.p50,
          p95: t.ackLatency.p95,
          confirming: parity.perTarget.some((p) => p.url === t.url && p.confirming),
        },
      ];
    };
    return {
      verdict: parity.verdict.status,
      reasons: parity.verdict.reasons,
      driftPct: parity.driftPct,
      healthyForMs: parity.verdict.status === 'healthy' && parity.healthySinceMs !== null ? Math.max(0, this.now() - parity.healthySinceMs) : null,
      targets: [...figures(run.from), ...figures(run.to)],
    };
  }

  private viewOf(run: Run): CutoverView {
    return {
      id: run.id,
      from: run.from,
      to: run.to,
      windowMs: run.windowMs,
      removeOld: run.removeOld,
      phase: run.phase,
      current: run.current,
      steps: run.steps.map((s) => ({ name: s.name, title: CUTOVER_STEP_TITLES[s.name], status: s.status, startedAt: s.startedAt, endedAt: s.endedAt, detail: s.detail })),
      progress: this.parityNow(run),
      events: [...run.events],
      startedAt: run.startedAt,
      endedAt: run.endedAt,
      problem: run.problem,
      canRollBack: run.phase !== 'rolling-back' && run.steps.some((s) => s.before !== null && (s.status === 'done' || s.status === 'running' || s.status === 'failed')),
    };
  }
}

function findTarget(targets: readonly TargetView[], url: string): TargetView | undefined {
  return targets.find((t) => t.url === url);
}

function labelOf(b: CutoverBackend): string {
  return b.name ? `${b.name} (${b.url})` : b.url;
}

function describeTarget(t: TargetView | undefined): string {
  if (!t) return 'not configured';
  return `${t.state}${t.lastError ? `: ${t.lastError}` : ''}`;
}

/** "1.5 s", "2 s", "120 s": a duration as said in the record. */
function seconds(ms: number): string {
  const s = ms / 1000;
  return `${s < 10 && !Number.isInteger(s) ? s.toFixed(1) : Math.round(s)} s`;
}
