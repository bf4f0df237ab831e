// The entry of the built CLI (dist/cli/relay-agent.mjs, the package's `relay-agent` bin):
// scripts/build-cli.mjs bundles from here. From the sources, src-main/cli/main.ts runs itself.
import { main } from './main';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`Relay Agent: unexpected error: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
