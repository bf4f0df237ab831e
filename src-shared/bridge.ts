// The one typed interface between the dashboard (renderer) and the relay. Two
// implementations: HTTP + server-sent events for a browser on a headless rig, and IPC for
// the desktop shell. What crosses is listed once, in the map of bridge-operations.ts; this
// module holds the types and schemas of the requests and answers, and what is typed from it.
import { z } from 'zod';
import type { HealthResponse, ParityResponse, TargetsResponse } from './debug-api';
import { CutoverRequestSchema, type CutoverView } from './cutover';
import {
  BACKEND_MODES,
  BACKEND_NAME_EXPECTED,
  BACKEND_TOKEN_EXPECTED,
  MAX_BACKENDS_LIMIT,
  deliveryProblem,
  isBackendName,
  isBackendToken,
  isWsUrl,
  primaryInRange,
  repeatedBackendUrls,
  type Settings,
} from './settings';

/** A relay-wide or per-target event, newest last (connects, disconnects, errors, kill switch). */
export interface TimelineEntry {
  ts: number;
  url: string | null;
  kind: string;
  detail: string;
}

/** The settings the dashboard's settings panel edits, beyond the backends, the mode and the kill switch. */
export const PANEL_SETTING_KEYS = [
  'paritySampleRate',
  'targetTimeoutMs',
  'sendTimeoutMs',
  'queueMaxFrames',
  'queueMaxBytes',
  'endTimeoutMs',
  'sourceStaleMs',
  'baselineHz',
  'controlsVars',
  'baselineVars',
  'sharePersonalData',
  'maxBackends',
  'debugPort',
] as const satisfies readonly (keyof Settings)[];
export type PanelSettingKey = (typeof PANEL_SETTING_KEYS)[number];
export type PanelSettings = Pick<Settings, PanelSettingKey>;

/** The settings as the dashboard may see them: no token ever leaves the relay, only whether one is set. */
export interface DashboardSettings {
  backends: { url: string; enabled: boolean; hasToken: boolean; name: string | null }[];
  mode: (typeof BACKEND_MODES)[number];
  primaryIndex: number;
  killSwitch: boolean;
  paritySampleRate: number;
  /** Every other setting the panel edits, as in force now. */
  values: PanelSettings;
  /** Settings under which no backend receives frames were accepted on purpose (a forced change). */
  allowNoDelivery: boolean;
  /** Variables whose environment value overrides the file for this run: edits to them do not take effect. */
  envOverrides: string[];
}

/** One snapshot of everything the dashboard shows, pushed a few times a second (never per frame). */
export interface DashboardState {
  at: number;
  targets: TargetsResponse;
  parity: ParityResponse;
  health: HealthResponse;
  settings: DashboardSettings;
  /** The most recent timeline entries (at most 50). */
  timeline: TimelineEntry[];
  /** The guided cutover in progress or last run (its 20 newest record entries); null when none has run. */
  cutover: CutoverView | null;
}

/** Ack latency per target over time: one point a second, the last 30 minutes at most. */
export interface LatencyPoint {
  t: number;
  p50: number | null;
  p95: number | null;
}

export interface LatencyHistory {
  /** Keyed by the target's masked URL. */
  targets: Record<string, LatencyPoint[]>;
}

// ---- changes the dashboard may ask for ----------------------------------------------------

/** The longest token the dashboard may send: a bound on the request, not a rule of the settings. */
export const MAX_TOKEN_EDIT_LENGTH = 4096;

const tokenEdit = z.union([
  z.object({ keep: z.literal(true) }),
  z.object({ set: z.string().min(1).max(MAX_TOKEN_EDIT_LENGTH).refine(isBackendToken, BACKEND_TOKEN_EXPECTED) }),
  z.object({ clear: z.literal(true) }),
]);

export const BackendEditSchema = z.object({
  url: z.string().max(2048),
  enabled: z.boolean(),
  /** A friendly name shown beside the URL; empty or omitted for none. */
  name: z.string().max(40).optional(),
  /** Omitted: keep the token the backend at this URL already has, if any. */
  token: tokenEdit.optional(),
});

export const SettingsUpdateSchema = z
  .object({
    mode: z.enum(BACKEND_MODES).optional(),
    primaryIndex: z.number().int().min(0).max(1000).optional(),
    // The hard limit here; the relay then applies its own RELAY_MAX_BACKENDS.
    backends: z.array(BackendEditSchema).max(MAX_BACKENDS_LIMIT).optional(),
    paritySampleRate: z.number().min(0).max(1).optional(),
    // The rest of the settings panel: kinds checked here, ranges by the relay's own rules
    // (src-shared/settings), which the panel runs before sending too.
    targetTimeoutMs: z.number().int().optional(),
    sendTimeoutMs: z.number().int().optional(),
    queueMaxFrames: z.number().int().optional(),
    queueMaxBytes: z.number().int().optional(),
    endTimeoutMs: z.number().int().optional(),
    sourceStaleMs: z.number().int().optional(),
    baselineHz: z.number().finite().optional(),
    controlsVars: z.array(z.string().max(64)).max(200).optional(),
    baselineVars: z.array(z.string().max(64)).max(200).optional(),
    sharePersonalData: z.boolean().optional(),
    maxBackends: z.number().int().optional(),
    debugPort: z.number().int().optional(),
    /** Accept settings under which no backend receives frames (asked for in words first). */
    force: z.boolean().optional(),
  })
  .strict();

/** `relay set NAME=VALUE ...` through the relay: the texts as typed, read by the relay with the settings file's rules. */
export const AssignSettingsSchema = z
  .object({
    assignments: z
      .array(z.object({ name: z.string().min(1).max(64), value: z.string().max(64 * 1024) }).strict())
      .min(1)
      .max(40),
    force: z.boolean().optional(),
  })
  .strict();

export const KillSwitchRequestSchema = z.object({ on: z.boolean() }).strict();

export type BackendEdit = z.infer<typeof BackendEditSchema>;
export type SettingsUpdate = z.infer<typeof SettingsUpdateSchema>;
export type KillSwitchRequest = z.infer<typeof KillSwitchRequestSchema>;
export type AssignSettingsRequest = z.infer<typeof AssignSettingsSchema>;

/** What the relay confirms it did, so the CLI and the page can print it rather than assume it. */
export interface ChangeConfirmation {
  /** The relay's pid and config folder: which relay confirmed. */
  pid: number;
  configDir: string;
  /** What the relay runs with now, in words (mode, backends, kill switch). */
  summary: string;
  /** The variables this change set. */
  changed: string[];
  /** The kill switch: backend connections it closed, any still open when the wait ended, and how long until none was. */
  killSwitch?: { on: boolean; closed: number; stillOpen: number; withinMs: number };
  /** A change that applies at the next start only (RELAY_DEBUG_PORT), said so. */
  notes: string[];
  warnings: string[];
}

export type ActionResult =
  | { ok: true; confirmation?: ChangeConfirmation }
  | {
      ok: false;
      /** HTTP-like status: 400 invalid, 403 no or wrong secret, 409 overridden by the environment, 500 relay error. */
      status: number;
      error: string;
      /** One line per problem, naming the setting, the value and what was expected. */
      problems?: string[];
    };

/** A refused or failed request, in the one shape the HTTP API, the IPC bridge and the dashboard share. */
export type ActionFailure = Extract<ActionResult, { ok: false }>;

/** The one way a refusal is built: `problems` only when there are some to list. */
export function failure(status: number, error: string, problems?: string[]): ActionFailure {
  return { ok: false, status, error, ...(problems ? { problems } : {}) };
}

/**
 * A schema's refusal as one line per problem, naming the field; `whole` names the value
 * itself when the problem is not in one of its fields ('(body)' over HTTP, '(argument)' over IPC).
 */
export function schemaProblems(error: z.ZodError, whole: string): string[] {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : whole}: ${i.message}`);
}

/**
 * Checks backend edits before anything is sent or saved, with the same rules the relay
 * applies, so the form can explain each problem next to its field.
 */
export function validateBackendEdits(backends: readonly BackendEdit[], primaryIndex: number): string[] {
  const problems: string[] = [];
  const urls = backends.map((b) => b.url.trim());
  const repeated = new Set(repeatedBackendUrls(urls));
  urls.forEach((url, i) => {
    if (url === '') problems.push(`backend #${i}: the URL is empty; expected a ws:// or wss:// URL such as ws://127.0.0.1:8080/relay`);
    else if (!isWsUrl(url)) problems.push(`backend #${i}: "${url}" is not a ws:// or wss:// URL; expected something like wss://gateway.example.com/relay`);
    else if (repeated.has(i)) problems.push(`backend #${i}: ${url} is listed twice; each gateway once (twice would send every frame twice)`);
    const name = backends[i]?.name;
    if (name !== undefined && name.trim() !== '' && !isBackendName(name)) problems.push(`backend #${i}: the name "${name}" is not valid; expected ${BACKEND_NAME_EXPECTED}`);
  });
  if (!primaryInRange(primaryIndex, backends.length)) {
    const expected = backends.length === 0 ? '#0 (no backends are configured)' : `one of #0 to #${backends.length - 1}`;
    problems.push(`primary: backend #${primaryIndex} does not exist; expected ${expected}`);
  }
  return problems;
}

/**
 * The same rule as the relay's refusal of settings that send nowhere (src-shared/settings
 * deliveryProblem), in the dashboard's words; null when the settings deliver. The form asks
 * the person to confirm with a force rather than refusing outright.
 */
export function noDeliveryProblem(backends: readonly Pick<BackendEdit, 'url' | 'enabled' | 'name'>[], primaryIndex: number, mode: string): string | null {
  const problem = deliveryProblem({
    backends: backends.map((b) => ({ url: b.url.trim(), enabled: b.enabled, ...(b.name ? { name: b.name } : {}) })),
    mode: mode === 'parallel' ? 'parallel' : 'single',
    primaryIndex,
  });
  return problem ? `Telemetry would go nowhere: ${problem.text}. ${problem.remedy}.` : null;
}

// ---- the operations ---------------------------------------------------------------------------

// The map of operations lives in a module without zod (bridge-operations.ts): the sandboxed
// preload and the CLI's fast path load it alone. Everything below is typed from it.
import {
  BRIDGE_CHANNELS,
  BRIDGE_OPERATIONS,
  HTTP_OPERATIONS,
  HTTP_ROUTES,
  IPC_OPERATIONS,
  SECRET_HEADER,
  STATE_EVENT_CHANNEL,
  type HttpOperation,
  type Invoker,
  type IpcOperation,
  type OperationName,
  type RequestOf,
} from './bridge-operations';
export { BRIDGE_CHANNELS, BRIDGE_OPERATIONS, HTTP_OPERATIONS, HTTP_ROUTES, IPC_OPERATIONS, SECRET_HEADER, STATE_EVENT_CHANNEL };
export type { Handler, HttpOperation, Invoker, IpcOperation, OperationName, RequestOf, ResponseOf } from './bridge-operations';

/** The cutover as the relay holds it after the request, or why the request was refused. */
export type CutoverResult = { ok: true; cutover: CutoverView } | ActionFailure;

/** The report saved by the desktop shell: where, or that the person cancelled the dialog. */
export type SaveReportResult = { ok: true; files: string[] } | { ok: true; cancelled: true } | ActionFailure;

/**
 * The schema every request of an operation is checked with, over IPC and HTTP alike; null
 * for an operation that takes no request. An operation added to the map needs its entry here.
 */
export const REQUEST_SCHEMAS: { readonly [N in OperationName]: RequestOf<N> extends void ? null : z.ZodType<RequestOf<N>> } = {
  getState: null,
  getHistory: null,
  setKillSwitch: KillSwitchRequestSchema,
  updateSettings: SettingsUpdateSchema,
  exportReport: null,
  cutover: CutoverRequestSchema,
  cutoverView: null,
  assignSettings: AssignSettingsSchema,
  saveReport: null,
};

/** A request read with its operation's schema; an operation without one takes nothing, and gets nothing. */
export function parseRequest<N extends OperationName>(name: N, value: unknown, whole: string): { ok: true; value: RequestOf<N> } | { ok: false; failure: ActionFailure } {
  // The map's type pairs each name with the schema of its own request; indexed by a type parameter, TypeScript cannot see that.
  const schema = REQUEST_SCHEMAS[name] as z.ZodType<RequestOf<N>> | null;
  if (schema === null) return { ok: true, value: undefined as RequestOf<N> };
  const r = schema.safeParse(value);
  if (r.success) return { ok: true, value: r.data };
  return { ok: false, failure: failure(400, 'the request does not match what this action expects; nothing was changed', schemaProblems(r.error, whole)) };
}

/** A report ready to save: the JSON for tools and the self-contained HTML for people. */
export interface ReportExport {
  ok: true;
  /** Suggested file name without extension, e.g. relay-parity-report-2026-11-27T15-40-00Z. */
  fileBase: string;
  json: string;
  html: string;
}

export type ConnectionStatus = 'connecting' | 'open' | 'reconnecting';

/**
 * The dashboard's view of the relay, over IPC (the desktop window, every operation with a
 * channel) or HTTP (a browser, those of them with a route as well; the rest are optional).
 */
export type RelayBridge = { readonly [N in IpcOperation & HttpOperation]: Invoker<N> } & {
  readonly [N in Exclude<IpcOperation, HttpOperation>]?: Invoker<N>;
} & {
  /** Live snapshots a few times a second; returns the unsubscribe function. */
  subscribe(onState: (state: DashboardState) => void, onStatus?: (status: ConnectionStatus) => void): () => void;
};

/** How often the relay pushes a snapshot: a few Hz, never per frame. */
export const SNAPSHOT_INTERVAL_MS = 500;
