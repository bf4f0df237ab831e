// The one map of the operations that cross between the dashboard, the CLI and the relay:
// each with its request and response types, the IPC channel the desktop window invokes and
// the HTTP route a browser or the CLI calls. The IPC handlers, the preload, the HTTP server,
// the browser's bridge and the relay's action interface are all typed from it, so an
// operation added here is asked for by the compiler everywhere it must be served or called
// (as GitHub Desktop derives its IPC handler and invoker types from one map).
//
// Free of zod and of every runtime import: the sandboxed preload is bundled whole into one
// file, and the CLI reads the routes on the path of `relay kill on`. The types come from
// bridge.ts and cutover.ts, and type imports leave nothing behind.
import type {
  ActionFailure,
  ActionResult,
  AssignSettingsRequest,
  CutoverResult,
  DashboardState,
  KillSwitchRequest,
  LatencyHistory,
  ReportExport,
  SaveReportResult,
  SettingsUpdate,
} from './bridge';
import type { CutoverRequest, CutoverView } from './cutover';

export type HttpMethod = 'GET' | 'POST';

export interface Transport {
  /** The IPC channel of the desktop window; null where the window has no use for the operation. */
  readonly channel: `relay:${string}` | null;
  /** The route on the relay's loopback API: GET reads need no secret, POST actions need it. */
  readonly http: { readonly method: HttpMethod; readonly path: `/api/${string}` } | null;
}

declare const types: unique symbol;

/** A transport that carries, at the type level only, what its request and response are. */
export type Operation<Request, Response> = Transport & { readonly [types]?: { request: Request; response: Response } };

const operation =
  <Request, Response>() =>
  <const T extends Transport>(transport: T): T & Operation<Request, Response> =>
    transport;

export const BRIDGE_OPERATIONS = {
  getState: operation<void, DashboardState>()({
    channel: 'relay:get-state',
    http: { method: 'GET', path: '/api/state' },
  }),
  getHistory: operation<void, LatencyHistory>()({
    channel: 'relay:get-history',
    http: { method: 'GET', path: '/api/history' },
  }),
  setKillSwitch: operation<KillSwitchRequest, ActionResult>()({
    channel: 'relay:set-kill-switch',
    http: { method: 'POST', path: '/api/kill-switch' },
  }),
  updateSettings: operation<SettingsUpdate, ActionResult>()({
    channel: 'relay:update-settings',
    http: { method: 'POST', path: '/api/settings' },
  }),
  /** The report as JSON and HTML; read-only and redacted, so it needs no secret. */
  exportReport: operation<void, ReportExport | ActionFailure>()({
    channel: 'relay:export-report',
    http: { method: 'GET', path: '/api/report' },
  }),
  /** The guided cutover: start it, or pause, resume, abort, roll back, remove the old backend. */
  cutover: operation<CutoverRequest, CutoverResult>()({
    channel: 'relay:cutover',
    http: { method: 'POST', path: '/api/cutover' },
  }),
  /** The cutover's state for the CLI; the dashboard reads it from every snapshot instead. */
  cutoverView: operation<void, { ok: true; cutover: CutoverView | null }>()({
    channel: null,
    http: { method: 'GET', path: '/api/cutover' },
  }),
  /** `relay set NAME=VALUE ...`: the texts as typed, read by the relay with the settings file's rules. */
  assignSettings: operation<AssignSettingsRequest, ActionResult>()({
    channel: null,
    http: { method: 'POST', path: '/api/settings/assign' },
  }),
  /** Desktop only: the system's save dialog, then the .html and .json written where it says. */
  saveReport: operation<void, SaveReportResult>()({
    channel: 'relay:save-report',
    http: null,
  }),
};

export type BridgeOperations = typeof BRIDGE_OPERATIONS;
export type OperationName = keyof BridgeOperations;
type TypesOf<N extends OperationName> = NonNullable<BridgeOperations[N][typeof types]>;
export type RequestOf<N extends OperationName> = TypesOf<N>['request'];
export type ResponseOf<N extends OperationName> = TypesOf<N>['response'];

/** The operations the desktop window invokes over IPC: every operation of the dashboard. */
export type IpcOperation = { [N in OperationName]: BridgeOperations[N]['channel'] extends string ? N : never }[OperationName];
/** The operations on the relay's loopback HTTP API. */
export type HttpOperation = { [N in OperationName]: BridgeOperations[N]['http'] extends object ? N : never }[OperationName];
export type IpcChannel = BridgeOperations[IpcOperation]['channel'];

/** What serves an operation, at once or later. */
export type Handler<N extends OperationName> = (request: RequestOf<N>) => ResponseOf<N> | Promise<ResponseOf<N>>;
/** What calls an operation across a process boundary. */
export type Invoker<N extends OperationName> = (request: RequestOf<N>) => Promise<ResponseOf<N>>;

export const OPERATION_NAMES = Object.keys(BRIDGE_OPERATIONS) as OperationName[];
export const IPC_OPERATIONS = OPERATION_NAMES.filter((n): n is IpcOperation => BRIDGE_OPERATIONS[n].channel !== null);
export const HTTP_OPERATIONS = OPERATION_NAMES.filter((n): n is HttpOperation => BRIDGE_OPERATIONS[n].http !== null);

/** Every invoke channel, for the code that registers or checks them all. */
export const BRIDGE_CHANNELS: readonly IpcChannel[] = IPC_OPERATIONS.map((n) => BRIDGE_OPERATIONS[n].channel);

/** The one channel the main process pushes on: a DashboardState every SNAPSHOT_INTERVAL_MS. */
export const STATE_EVENT_CHANNEL = 'relay:state';
/** The same snapshots over HTTP, as server-sent events. */
export const STATE_EVENTS_ROUTE = '/api/events';

/** The path of each HTTP operation by its name, and of the live snapshots (`events`). */
export const HTTP_ROUTES = {
  ...(Object.fromEntries(HTTP_OPERATIONS.map((n) => [n, BRIDGE_OPERATIONS[n].http.path])) as { readonly [N in HttpOperation]: string }),
  events: STATE_EVENTS_ROUTE,
} as const;

/** The header carrying the per-run secret on every request that changes something. */
export const SECRET_HEADER = 'x-relay-secret';
