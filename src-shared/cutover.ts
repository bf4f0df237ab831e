// The guided cutover (blue/green): the spec's hand-run playbook as one procedure that the
// relay runs and the CLI, the dashboard and the report only drive and show. Its steps, the
// state the relay reports, and the requests it accepts.
import { z } from 'zod';
import type { ParityStatus } from './debug-api';

/** The playbook's steps in order; `remove` runs only when asked for. */
export const CUTOVER_STEPS = ['add', 'parallel', 'hold', 'primary', 'single', 'disable', 'remove'] as const;
export type CutoverStepName = (typeof CUTOVER_STEPS)[number];

export const CUTOVER_STEP_TITLES: Record<CutoverStepName, string> = {
  add: 'Add the new backend',
  parallel: 'Parallel mode: send to both',
  hold: 'Hold until the parity verdict has been healthy for the whole window',
  primary: 'Make the new backend the primary',
  single: 'Single mode: send to the new backend only',
  disable: 'Disable the old backend',
  remove: 'Remove the old backend',
};

/**
 * - `pending`: not reached yet; `running`: applied, waiting for its effect;
 * - `done`: its effect was confirmed; `skipped`: already in force, or not asked for;
 * - `failed`: its effect was not confirmed in time (the procedure pauses there);
 * - `undone`: rolled back, its settings restored as they were before it.
 */
export type CutoverStepStatus = 'pending' | 'running' | 'done' | 'skipped' | 'failed' | 'undone';

/**
 * - `running`: advancing step by step; `paused`: holds where it is until resumed;
 * - `failed`: a step's effect was not confirmed: paused there, for the operator to retry, roll back or abort;
 * - `completed`: every step done; `aborted`: stopped by the operator;
 * - `rolling-back`: restoring the settings of a step and waiting for their effect.
 */
export type CutoverPhase = 'running' | 'paused' | 'failed' | 'completed' | 'aborted' | 'rolling-back';

/** A backend as the cutover names it: masked URL and friendly name. */
export interface CutoverBackend {
  url: string;
  name: string | null;
}

/** One target's figures at an instant, as /debug/targets had them. */
export interface CutoverTargetFigures extends CutoverBackend {
  state: string;
  delivered: number;
  inFlight: number;
  queued: number;
  dropped: number;
  lost: number;
  driftPct: number;
  p50: number | null;
  p95: number | null;
  confirming: boolean;
}

/** The relay's parity verdict and its clock at an instant: what each step is recorded with. */
export interface CutoverParity {
  verdict: ParityStatus;
  reasons: string[];
  driftPct: number;
  /** How long the relay's verdict had been healthy without a break (its parity clock); null when not healthy. */
  healthyForMs: number | null;
  /** The old and the new backend, in that order (either may be missing once removed). */
  targets: CutoverTargetFigures[];
}

export interface CutoverStepView {
  name: CutoverStepName;
  title: string;
  status: CutoverStepStatus;
  startedAt: number | null;
  endedAt: number | null;
  /** What happened, in words: what was confirmed, or why it was not. */
  detail: string;
}

export type CutoverEventKind = 'started' | 'applied' | 'confirmed' | 'skipped' | 'failed' | 'paused' | 'resumed' | 'undone' | 'aborted' | 'completed' | 'refused' | 'waiting';

/** One entry of the procedure's record, with the verdict at that moment: what the report keeps. */
export interface CutoverEvent {
  at: number;
  step: CutoverStepName | null;
  kind: CutoverEventKind;
  detail: string;
  parity: CutoverParity;
}

export interface CutoverView {
  id: string;
  from: CutoverBackend;
  to: CutoverBackend;
  windowMs: number;
  removeOld: boolean;
  phase: CutoverPhase;
  /** The step being worked on (or paused at); null once completed or aborted. */
  current: CutoverStepName | null;
  steps: CutoverStepView[];
  /** Live figures of both backends and the relay's verdict, refreshed at every snapshot. */
  progress: CutoverParity;
  events: CutoverEvent[];
  startedAt: number;
  endedAt: number | null;
  /** Why the procedure is failed or paused, in words; null when it runs or ended well. */
  problem: string | null;
  /** A step can be undone now (`relay rollback`, the panel's Roll back). */
  canRollBack: boolean;
}

export const CUTOVER_WINDOW_MIN_MS = 1000;
export const CUTOVER_WINDOW_MAX_MS = 24 * 3600_000;
/** The spec's "verify parity (2 minutes)". */
export const CUTOVER_DEFAULT_WINDOW_MS = 2 * 60_000;

export const CutoverRequestSchema = z.discriminatedUnion('action', [
  z
    .object({
      action: z.literal('start'),
      to: z.string().min(1).max(2048),
      name: z.string().max(40).optional(),
      token: z.string().min(1).max(4096).regex(/^[\x21-\x7e]+$/, 'printable characters without spaces').optional(),
      windowMs: z.number().int().min(CUTOVER_WINDOW_MIN_MS).max(CUTOVER_WINDOW_MAX_MS),
      removeOld: z.boolean(),
    })
    .strict(),
  z.object({ action: z.enum(['pause', 'resume', 'abort', 'rollback', 'remove', 'retry']) }).strict(),
]);
export type CutoverRequest = z.infer<typeof CutoverRequestSchema>;

/**
 * A window typed by a person: "2m", "90s", "1500ms", "1h", "1m30s", or a bare number of
 * seconds. null when it cannot be read.
 */
export function parseDuration(text: string): number | null {
  const t = text.trim().toLowerCase();
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000);
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (const m of t.matchAll(part)) {
    const n = Number(m[1]);
    total += n * { ms: 1, s: 1000, m: 60_000, h: 3600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
    matched += m[0].length;
  }
  return matched === t.length && matched > 0 ? Math.round(total) : null;
}

export const WINDOW_EXPECTED = `a duration from ${CUTOVER_WINDOW_MIN_MS / 1000} s to 24 h, such as 2m, 90s or 1m30s`;
