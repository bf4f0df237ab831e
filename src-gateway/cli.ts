// `npm run gateway -- --port <n> [--name <label>] [--token <t>] [--host 127.0.0.1] [--allow-origin <o>] [--capture <file>]`
// Exit codes: 0 after a clean shutdown on SIGINT/SIGTERM, 1 when the server cannot start,
// 2 for a bad flag or environment variable. The token is never printed.
import { parseCli, USAGE, UsageError } from './cli-args';
import { startGateway, type GatewayOptions } from './gateway';

async function main(): Promise<void> {
  let options: GatewayOptions | null;
  try {
    options = parseCli(process.argv.slice(2), process.env);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`gateway: ${e.message}\n${USAGE}`);
    process.exit(2);
  }
  if (!options) {
    console.log(USAGE);
    return;
  }
  options.log = (level, message) => console.error(`[${level}] ${message}`);
  let gateway;
  try {
    gateway = await startGateway(options);
  } catch (e) {
    console.error(`gateway: cannot start: ${(e as Error).message}`);
    process.exit(1);
  }
  console.log(`gateway ${gateway.name} listening on ${gateway.url} (${gateway.httpUrl})`);
  if (options.capture) console.error(`gateway: capturing relay messages to ${options.capture}`);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.error(`gateway: ${signal}, closing`);
    gateway.close().then(
      () => process.exit(0),
      (e: unknown) => {
        console.error(`gateway: error while closing: ${(e as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

main().catch((e: unknown) => {
  console.error(`gateway: ${(e as Error)?.stack ?? String(e)}`);
  process.exit(1);
});
