// `relay cutover --to <url>` and `relay rollback`: the relay runs the guided cutover; this
// command starts it (or presses one of its buttons) and prints each step as the relay
// confirms it, until it completes, fails or pauses. Ctrl-C pauses the cutover, never leaves
// it running unattended without saying so.
import { CUTOVER_DEFAULT_WINDOW_MS, CUTOVER_WINDOW_MAX_MS, CUTOVER_WINDOW_MIN_MS, WINDOW_EXPECTED, parseDuration, type CutoverEvent, type CutoverParity, type CutoverView } from '../../src-shared/cutover';
import { EXIT_NOT_RUNNING, EXIT_RUNTIME, EXIT_USAGE, UsageError, type Out } from './exit';
import { HTTP_ROUTES, RelayUnreachableError, elsewhereHint, locateRelay, postAction, requestJson, waitWhileStarting, type RelayLocation } from './relay-client';

export interface CutoverFlags {
  to: string | undefined;
  name: string | undefined;
  window: string | undefined;
  remove: boolean;
}

const ACTIONS = ['status', 'pause', 'resume', 'retry', 'abort', 'remove'] as const;
type Running = Extract<RelayLocation, { kind: 'running' }>;

async function reach(configDir: string, out: Out): Promise<Running | number> {
  const where = await waitWhileStarting(locateRelay(configDir));
  if (where.kind === 'running') return where;
  const why = where.kind === 'none' ? where.why : `the relay for the config folder ${where.configDir} did not finish starting`;
  return out.fail(EXIT_NOT_RUNNING, `${why}: a cutover is run by a running relay; start one first (relay run --config-dir ${JSON.stringify(where.configDir)})${where.kind === 'none' ? elsewhereHint(where.others) : ''}`);
}

export async function cutover(configDir: string, args: readonly string[], flags: CutoverFlags, out: Out): Promise<number> {
  const action = args[0];
  if (args.length > 1) throw new UsageError(`expected at most one word after cutover (${ACTIONS.join(', ')}); got ${args.length}`, 'cutover');
  if (action !== undefined) {
    if (!(ACTIONS as readonly string[]).includes(action)) throw new UsageError(`cutover: unknown action ${JSON.stringify(action)}; expected one of ${ACTIONS.join(', ')}, or --to <url> to start one`, 'cutover');
    if (flags.to !== undefined || flags.name !== undefined || flags.window !== undefined || flags.remove) {
      throw new UsageError(`--to, --name, --window and --remove start a cutover; they do not go with "cutover ${action}"`, 'cutover');
    }
  } else if (flags.to === undefined) {
    throw new UsageError('cutover: --to <url> is needed to start one (the new gateway), or one of status, pause, resume, retry, abort, remove', 'cutover');
  }
  let windowMs = CUTOVER_DEFAULT_WINDOW_MS;
  if (flags.window !== undefined) {
    const parsed = parseDuration(flags.window);
    if (parsed === null || parsed < CUTOVER_WINDOW_MIN_MS || parsed > CUTOVER_WINDOW_MAX_MS) throw new UsageError(`--window: got ${JSON.stringify(flags.window)}; expected ${WINDOW_EXPECTED}`, 'cutover');
    windowMs = parsed;
  }
  const where = await reach(configDir, out);
  if (typeof where === 'number') return where;
  if (action === 'status') {
    const view = await currentCutover(where);
    if (!view) return out.print(`no cutover has run in the relay for the config folder ${where.configDir}`);
    return out.print(describeView(view));
  }
  const body = action === undefined ? { action: 'start', to: flags.to, windowMs, removeOld: flags.remove, ...(flags.name ? { name: flags.name } : {}) } : { action };
  const started = await send(where, body, out);
  if (typeof started === 'number') return started;
  if (action === 'pause' || action === 'abort') return out.print(describeView(started));
  return follow(where, started, out);
}

export async function rollback(configDir: string, out: Out): Promise<number> {
  const where = await reach(configDir, out);
  if (typeof where === 'number') return where;
  const view = await send(where, { action: 'rollback' }, out);
  if (typeof view === 'number') return view;
  return follow(where, view, out);
}

async function send(where: Running, body: unknown, out: Out): Promise<CutoverView | number> {
  let answer;
  try {
    answer = await postAction(where, HTTP_ROUTES.cutover, body);
  } catch (e) {
    if (!(e instanceof RelayUnreachableError)) throw e;
    return out.fail(EXIT_RUNTIME, `the relay for the config folder ${where.configDir} (pid ${where.info.pid}) did not answer: ${e.message}`);
  }
  if (!answer.ok) {
    const refused = answer.status === 400 || answer.status === 409;
    return out.fail(refused ? EXIT_USAGE : EXIT_RUNTIME, `refused by the relay (pid ${where.info.pid}, config folder ${where.configDir}): ${answer.error ?? `HTTP ${answer.status}`}`);
  }
  return answer.cutover as CutoverView;
}

async function currentCutover(where: Running): Promise<CutoverView | null> {
  const answer = await requestJson(where.info.debugPort, 'GET', HTTP_ROUTES.cutoverView, { timeoutMs: 2000 });
  return ((answer.json as { cutover?: CutoverView | null }).cutover ?? null) as CutoverView | null;
}

const clock = (ms: number): string => new Date(ms).toISOString().slice(11, 19);

function eventLine(e: CutoverEvent): string {
  return `[${clock(e.at)}] ${e.step ? `${e.step}: ` : ''}${e.kind}: ${e.detail}  (parity ${e.parity.verdict}, drift ${e.parity.driftPct}%)`;
}

function figuresLine(p: CutoverParity): string {
  const t = p.targets.map((x) => `${x.name ?? x.url} delivered ${x.delivered}, in flight ${x.inFlight}, lost ${x.lost}, p50/p95 ${x.p50 ?? '-'}/${x.p95 ?? '-'} ms`).join('; ');
  return `parity ${p.verdict}${p.healthyForMs !== null ? ` for ${Math.round(p.healthyForMs / 1000)} s` : ''}, drift ${p.driftPct}%; ${t}`;
}

export function describeView(v: CutoverView): string {
  const lines = [`cutover from ${v.from.name ?? v.from.url} to ${v.to.name ?? v.to.url}: ${v.phase.toUpperCase()}${v.problem ? ` (${v.problem})` : ''}`];
  for (const s of v.steps) lines.push(`  ${s.status === 'done' ? '✓' : s.status === 'running' ? '…' : s.status === 'failed' ? '✗' : ' '} ${s.title}: ${s.status}${s.detail ? `: ${s.detail}` : ''}`);
  lines.push(`  ${figuresLine(v.progress)}`);
  return lines.join('\n');
}

/** Prints the relay's record as it grows, until the cutover stops moving; Ctrl-C pauses it. */
async function follow(where: Running, first: CutoverView, out: Out): Promise<number> {
  let printed = 0;
  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
  };
  process.once('SIGINT', onSigint);
  let lastProgress = 0;
  let view = first;
  try {
    for (;;) {
      for (const e of view.events.slice(printed)) out.print(eventLine(e));
      printed = view.events.length;
      if (view.phase === 'running' && view.current === 'hold' && Date.now() - lastProgress >= 5000) {
        lastProgress = Date.now();
        out.print(`  hold: ${figuresLine(view.progress)} (window ${Math.round(view.windowMs / 1000)} s)`);
      }
      if (interrupted) {
        const paused = await send(where, { action: 'pause' }, out).catch(() => EXIT_RUNTIME);
        return out.fail(EXIT_RUNTIME, `${typeof paused === 'number' ? 'Ctrl-C: the cutover could NOT be paused; it goes on in the relay' : 'Ctrl-C: the cutover is paused in the relay'}. relay cutover resume | relay rollback | relay cutover abort`);
      }
      if (view.phase === 'completed') return out.print(describeView(view));
      if (view.phase === 'failed' || view.phase === 'aborted') return out.fail(EXIT_RUNTIME, describeView(view));
      if (view.phase === 'paused') {
        out.print(describeView(view));
        return out.print('paused: relay cutover resume goes on, relay rollback undoes the last step, relay cutover abort stops');
      }
      await new Promise((r) => setTimeout(r, 250));
      try {
        view = (await currentCutover(where)) ?? view;
      } catch (e) {
        if (!(e instanceof RelayUnreachableError)) throw e;
        return out.fail(EXIT_RUNTIME, `lost the relay while following the cutover: ${e.message}`);
      }
    }
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}
