// The HTTP routes of the relay's loopback API and the header of its per-run secret. Kept
// free of zod and of every other import, like ipc-channels.ts: the headless CLI reads them
// on the path of `relay kill on`, which must not pay for loading the schemas.

/** HTTP routes of the browser implementation of the bridge (and of the CLI's controls), on the relay's debug port. */
export const HTTP_ROUTES = {
  state: '/api/state',
  history: '/api/history',
  events: '/api/events',
  killSwitch: '/api/kill-switch',
  settings: '/api/settings',
  /** `relay set NAME=VALUE ...`: settings as text, checked by the relay with the same rules as the settings file. */
  assign: '/api/settings/assign',
  report: '/api/report',
  /** The guided cutover: GET its state, POST an action (start, pause, resume, abort, rollback, remove). */
  cutover: '/api/cutover',
} as const;

/** The header carrying the per-run secret on every request that changes something. */
export const SECRET_HEADER = 'x-relay-secret';
