// Command line and environment of the gateway CLI, apart from cli.ts so tests can import
// it without starting a server.
import { parseArgs } from 'node:util';
import type { GatewayOptions } from './gateway';
import { isOrigin } from './origins';

export const USAGE = `usage: npm run gateway -- [--port <0-65535>] [--name <label>] [--token <secret>] [--host <address>]
                          [--allow-origin <origin>]... [--capture <file>]
  --port          port to listen on (default 0: any free port, printed on start)
  --name          name sent to relays in the welcome (default "gateway")
  --token         require "Authorization: Bearer <token>" on relay connections (or set GATEWAY_TOKEN,
                  which keeps the secret out of the process list)
  --host          address to bind (default 127.0.0.1)
  --allow-origin  let web pages of this origin (scheme://host[:port]) open the relay WebSocket;
                  repeat it or separate origins with commas. Upgrades carrying any other Origin
                  header are refused with 403 (relays send none)
  --capture       append every message relays send to <file>, one JSON line each
                  ({"at","conn","outcome","msg"} for frames, {"at","conn","msg"} otherwise),
                  written as it arrives so it survives a crash
environment: DIAGNOSTICS_ENABLED, METRICS_ENABLED = true|1|false|0 (default true)`;

export class UsageError extends Error {}

export function parseBoolEnv(name: string, value: string | undefined): boolean {
  if (value === undefined || value === '') return true;
  const v = value.trim().toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new UsageError(`${name}=${JSON.stringify(value)} is invalid; expected true, 1, false or 0`);
}

export function parsePort(value: string | undefined): number {
  if (value === undefined) return 0;
  const port = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
  if (!(port >= 0 && port <= 65535)) throw new UsageError(`--port ${JSON.stringify(value)} is invalid; expected an integer from 0 to 65535`);
  return port;
}

/** --allow-origin values, each possibly a comma-separated list. */
export function parseOrigins(values: string[] | undefined): string[] {
  const origins: string[] = [];
  for (const value of values ?? []) {
    for (const part of value.split(',')) {
      const origin = part.trim().replace(/\/$/, '');
      if (!isOrigin(origin)) {
        throw new UsageError(`--allow-origin ${JSON.stringify(part.trim())} is invalid; expected an origin such as http://localhost:5173 (scheme://host[:port], no path)`);
      }
      origins.push(origin);
    }
  }
  return origins;
}

/** Options for startGateway from the command line and environment, or null when only --help was asked. */
export function parseCli(argv: string[], env: NodeJS.ProcessEnv): GatewayOptions | null {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string' },
        name: { type: 'string' },
        token: { type: 'string' },
        host: { type: 'string' },
        'allow-origin': { type: 'string', multiple: true },
        capture: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    // parseArgs names the offending flag; its advice about positionals does not apply here.
    const message = (e as Error).message.replace(/ To specify a positional argument.*$/s, '').replace(/\.$/, '');
    throw new UsageError(`${message}; expected --port, --name, --token, --host, --allow-origin, --capture or --help`);
  }
  if (values.help) return null;
  const options: GatewayOptions = {
    port: parsePort(values.port),
    diagnosticsEnabled: parseBoolEnv('DIAGNOSTICS_ENABLED', env.DIAGNOSTICS_ENABLED),
    metricsEnabled: parseBoolEnv('METRICS_ENABLED', env.METRICS_ENABLED),
  };
  if (values.name !== undefined) {
    if (values.name.length === 0 || values.name.length > 200) {
      throw new UsageError(`--name of ${values.name.length} characters is invalid; expected 1 to 200 characters`);
    }
    options.name = values.name;
  }
  if (values.host !== undefined) {
    if (values.host.length === 0) throw new UsageError('--host "" is invalid; expected an address such as 127.0.0.1');
    options.host = values.host;
  }
  const origins = parseOrigins(values['allow-origin']);
  if (origins.length > 0) options.allowedOrigins = origins;
  if (values.capture !== undefined) {
    if (values.capture.length === 0) throw new UsageError('--capture "" is invalid; expected a file path');
    options.capture = values.capture;
  }
  const token = values.token ?? env.GATEWAY_TOKEN;
  if (token !== undefined && token !== '') options.token = token;
  else if (values.token === '') throw new UsageError('--token is empty; expected a non-empty secret, or no --token for no authentication');
  return options;
}
