// How the CLI reaches the relay that runs for a config folder: its runtime file names its
// pid and debug port, the per-run secret in the same folder (readable by this user only)
// authorises changes, and every failure is said in words ("nothing answers on ...", "no
// answer within 2 s") rather than as a bare "fetch failed".
//
// Node built-ins only: this is the path of `relay kill on`, which must answer fast.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { HTTP_ROUTES, SECRET_HEADER } from '../../src-shared/bridge-operations';
import { DASHBOARD_SECRET_FILE, findRunningRelay, otherRunningRelays, type RuntimeInfo } from '../runtime/runtime-lock';

export { HTTP_ROUTES };

export type RelayLocation =
  | { kind: 'running'; info: RuntimeInfo; configDir: string }
  /** A relay holds the folder but has not bound its debug server yet. */
  | { kind: 'starting'; info: RuntimeInfo; configDir: string }
  | { kind: 'none'; configDir: string; why: string; others: RuntimeInfo[] };

export function locateRelay(configDir: string): RelayLocation {
  const dir = path.resolve(configDir);
  const found = findRunningRelay(dir);
  if (!found.running) return { kind: 'none', configDir: dir, why: found.why, others: otherRunningRelays(dir) };
  const { info } = found;
  if (info.debugPort === 0) return { kind: 'starting', info, configDir: dir };
  return { kind: 'running', info, configDir: dir };
}

/** A relay that holds the folder but is still starting gets a few seconds to bind its debug server. */
export async function waitWhileStarting(location: RelayLocation, timeoutMs = 5000): Promise<RelayLocation> {
  const until = Date.now() + timeoutMs;
  let where = location;
  while (where.kind === 'starting' && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
    where = locateRelay(where.configDir);
  }
  return where;
}

/** "A relay runs for /tmp/relay-agent-demo (pid 123, debug port 8765): add --config-dir ..." lines, or nothing. */
export function elsewhereHint(others: readonly RuntimeInfo[]): string {
  if (others.length === 0) return '';
  const lines = others.map((o) => `  a relay runs for the config folder ${o.configDir} (pid ${o.pid}, ${o.debugPort ? `debug port ${o.debugPort}` : 'still starting'}): add --config-dir ${JSON.stringify(o.configDir)} to reach it`);
  return `\n${lines.join('\n')}`;
}

/** The relay did not answer as it should: the message says what happened, in words. */
export class RelayUnreachableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RelayUnreachableError';
  }
}

export interface JsonAnswer {
  status: number;
  json: unknown;
}

function inWords(e: NodeJS.ErrnoException, port: number, timeoutMs: number): string {
  switch (e.code) {
    case 'ECONNREFUSED':
      return `nothing answers on 127.0.0.1:${port} (connection refused)`;
    case 'ECONNRESET':
    case 'EPIPE':
      return `the connection to 127.0.0.1:${port} was closed before the relay answered`;
    case 'ETIMEDOUT':
      return `no answer from 127.0.0.1:${port} within ${timeoutMs / 1000} s`;
    default:
      return `127.0.0.1:${port} could not be reached: ${e.message}`;
  }
}

/** One JSON request to the relay's loopback server; rejects with a RelayUnreachableError in words. */
export function requestJson(
  port: number,
  method: 'GET' | 'POST',
  route: string,
  options: { body?: unknown; secret?: string; timeoutMs?: number } = {},
): Promise<JsonAnswer> {
  const timeoutMs = options.timeoutMs ?? 3000;
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: route,
        method,
        agent: false,
        headers: {
          host: `127.0.0.1:${port}`,
          accept: 'application/json',
          ...(body !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : {}),
          ...(options.secret ? { [SECRET_HEADER]: options.secret } : {}),
        },
        timeout: timeoutMs,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as unknown });
          } catch {
            reject(new RelayUnreachableError(`127.0.0.1:${port}${route} answered HTTP ${res.statusCode} with something that is not JSON: is it a relay?`));
          }
        });
        res.on('error', (e) => reject(new RelayUnreachableError(inWords(e, port, timeoutMs))));
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', (e: NodeJS.ErrnoException) => reject(new RelayUnreachableError(inWords(e, port, timeoutMs))));
    req.end(body);
  });
}

/** The per-run secret of the relay running for this folder; a sentence on why it cannot be read otherwise. */
export function readSecret(configDir: string): { ok: true; secret: string } | { ok: false; why: string } {
  const file = path.join(path.resolve(configDir), DASHBOARD_SECRET_FILE);
  try {
    const secret = fs.readFileSync(file, 'utf8').trim();
    if (secret) return { ok: true, secret };
    return { ok: false, why: `${file} is empty` };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: false, why: `the relay's secret file ${file} does not exist (is the relay still starting?)` };
    if (code === 'EACCES' || code === 'EPERM') return { ok: false, why: `the relay's secret file ${file} cannot be read by this user (the relay runs as another user)` };
    return { ok: false, why: `the relay's secret file ${file} cannot be read: ${(e as Error).message}` };
  }
}

/** The answer of an action, as the relay's ActionResult says it (without importing its schema). */
export interface ActionAnswer {
  ok: boolean;
  status: number;
  error?: string;
  problems?: string[];
  [key: string]: unknown;
}

/** POSTs an action with the secret; the relay's refusal comes back as an answer, an unreachable relay as an error. */
export async function postAction(location: Extract<RelayLocation, { kind: 'running' }>, route: string, body: unknown, timeoutMs = 5000): Promise<ActionAnswer> {
  const secret = readSecret(location.configDir);
  if (!secret.ok) throw new RelayUnreachableError(secret.why);
  const answer = await requestJson(location.info.debugPort, 'POST', route, { body, secret: secret.secret, timeoutMs });
  const json = (answer.json ?? {}) as Partial<ActionAnswer>;
  if (typeof json.ok !== 'boolean') throw new RelayUnreachableError(`127.0.0.1:${location.info.debugPort}${route} answered HTTP ${answer.status} without a result: is it a relay?`);
  return { ...json, ok: json.ok, status: answer.status };
}
