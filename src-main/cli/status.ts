// `relay status` and `relay report`: read from the relay running for the config folder, which
// they name, so an answer never comes from another folder's relay.
import fs from 'node:fs';
import path from 'node:path';
import type { ReportExport } from '../../src-shared/bridge';
import type { HealthResponse, ParityResponse, TargetsResponse } from '../../src-shared/debug-api';
import { EXIT_NOT_RUNNING, EXIT_RUNTIME, EXIT_USAGE, type Out } from './exit';
import { HTTP_ROUTES, RelayUnreachableError, elsewhereHint, locateRelay, requestJson, waitWhileStarting, type RelayLocation } from './relay-client';
import { formatStatus } from './status-format';

function notRunning(where: Exclude<RelayLocation, { kind: 'running' }>, what: string, out: Out): number {
  const why = where.kind === 'none' ? where.why : `the relay for the config folder ${where.configDir} (pid ${where.info.pid}) did not finish starting`;
  return out.fail(EXIT_NOT_RUNNING, `${why}, so there is ${what}; start one with: relay run --config-dir ${JSON.stringify(where.configDir)}${where.kind === 'none' ? elsewhereHint(where.others) : ''}`);
}

export async function status(configDir: string, out: Out): Promise<number> {
  const where = await waitWhileStarting(locateRelay(configDir));
  if (where.kind !== 'running') return notRunning(where, 'no status to show', out);
  const port = where.info.debugPort;
  const get = async <T>(p: string): Promise<T> => {
    const answer = await requestJson(port, 'GET', p, { timeoutMs: 2000 });
    if (answer.status !== 200) throw new RelayUnreachableError(`${p} answered HTTP ${answer.status}`);
    return answer.json as T;
  };
  let health: HealthResponse;
  let targets: TargetsResponse;
  let parity: ParityResponse;
  try {
    [health, targets, parity] = await Promise.all([get<HealthResponse>('/debug/health'), get<TargetsResponse>('/debug/targets'), get<ParityResponse>('/debug/parity')]);
  } catch (e) {
    if (!(e instanceof RelayUnreachableError)) throw e;
    return out.fail(EXIT_RUNTIME, `the relay for the config folder ${where.configDir} (pid ${where.info.pid}, debug port ${port}) does not answer: ${e.message}`);
  }
  if (health.configDir && path.resolve(health.configDir) !== where.configDir) {
    return out.fail(EXIT_RUNTIME, `the relay on debug port ${port} runs for the config folder ${health.configDir}, not ${where.configDir}: ${path.join(where.configDir, 'relay-runtime.json')} is out of date`);
  }
  return out.print(formatStatus({ ...health, configDir: where.configDir, pid: health.pid ?? where.info.pid }, targets, parity));
}

/** `relay report --out <file>`: the running relay builds it (it holds the counters); this process saves it. */
export async function report(configDir: string, outFile: string | undefined, out: Out): Promise<number> {
  const where = await waitWhileStarting(locateRelay(configDir));
  if (where.kind !== 'running') return notRunning(where, 'no report to save (the report comes from a running relay)', out);
  let body: ReportExport;
  try {
    // The relay waits up to 2 s for each gateway (in parallel): 10 s is ample.
    const answer = await requestJson(where.info.debugPort, 'GET', HTTP_ROUTES.exportReport, { timeoutMs: 10_000 });
    const parsed = answer.json as ReportExport | { error?: string };
    if (answer.status !== 200 || !('ok' in parsed) || parsed.ok !== true) throw new RelayUnreachableError(`${HTTP_ROUTES.exportReport} answered HTTP ${answer.status}${'error' in parsed && parsed.error ? `: ${parsed.error}` : ''}`);
    body = parsed;
  } catch (e) {
    if (!(e instanceof RelayUnreachableError)) throw e;
    return out.fail(EXIT_RUNTIME, `the relay for the config folder ${where.configDir} (pid ${where.info.pid}) gave no report: ${e.message}`);
  }
  const target = path.resolve(outFile ?? `${body.fileBase}.json`);
  const jsonFile = path.extname(target) === '' ? `${target}.json` : target;
  const htmlFile = path.join(path.dirname(jsonFile), `${path.basename(jsonFile, path.extname(jsonFile))}.html`);
  if (htmlFile === jsonFile) return out.fail(EXIT_USAGE, `Relay Agent: --out ${outFile} would write the JSON over the HTML; give a .json file name`);
  fs.mkdirSync(path.dirname(jsonFile), { recursive: true });
  fs.writeFileSync(jsonFile, body.json);
  fs.writeFileSync(htmlFile, body.html);
  return out.print(`report saved from the relay for the config folder ${where.configDir}:\n  ${jsonFile}\n  ${htmlFile}`);
}
