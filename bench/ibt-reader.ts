// The .ibt reader's throughput on the real fixture (repeated to about 20 MB), against the
// decode floor (bench/ibt-floor.ts): the same variables of the same file, read in chunks
// and decoded with one DataView call each, in the same run. Rounds alternate and the
// median ratio of the rounds is kept.
import { IbtFile } from '../src-main/ibt/ibt-file';
import { DEFAULT_SETTINGS } from '../src-shared/settings';
import { PROJECT_DIR } from './paths';
import { buildLargeRecording, floorPass, floorVariables } from './ibt-floor';
import { median, round } from './util';

export interface IbtReaderPlan {
  rounds: number;
  /** How many times the fixture's samples are repeated in the file read. */
  repeat: number;
  /** Each round of each side reads the file again and again for at least this long. */
  minMs: number;
}

export interface ReaderResult {
  samples: number;
  variables: number;
  readerSamplesPerSec: number;
  floorSamplesPerSec: number;
  ratio: number;
  ratios: number[];
}

/** What a replay decodes: the two streams' variables and the tick. */
export const STREAM_VARIABLES = [...new Set([...DEFAULT_SETTINGS.controlsVars, ...DEFAULT_SETTINGS.baselineVars, 'SessionTick'])];

/**
 * One round: passes of the floor and of the reader in turn (each over the whole file, a few
 * ms), until each side has run for `minMs`: turn by turn, so that whatever else the machine
 * does at a moment slows both alike. Returns samples per second of each.
 */
async function round_(samples: number, minMs: number, floorPass: () => Promise<void>, readerPass: () => Promise<void>): Promise<{ floor: number; reader: number }> {
  let floorMs = 0;
  let readerMs = 0;
  let passes = 0;
  while (floorMs < minMs || readerMs < minMs) {
    let t = performance.now();
    await floorPass();
    floorMs += performance.now() - t;
    t = performance.now();
    await readerPass();
    readerMs += performance.now() - t;
    passes++;
  }
  return { floor: (passes * samples) / (floorMs / 1000), reader: (passes * samples) / (readerMs / 1000) };
}

/**
 * The reader as a replay at full speed uses it: chunk by chunk, every sample's values of the
 * variables asked for. The file is opened (header, variables, session YAML) before the timing.
 */
async function readerPass(ibt: IbtFile, variables: string[]): Promise<void> {
  let sum = 0;
  for await (const chunk of ibt.chunks({ variables })) {
    const width = chunk.names.length;
    for (let k = 0; k < chunk.count; k++) {
      const t = chunk.values[k * width];
      if (typeof t === 'number') sum += t;
    }
  }
  if (Number.isNaN(sum)) throw new Error('unreachable');
}

export async function measureIbtReader(plan: IbtReaderPlan): Promise<ReaderResult> {
  const rec = buildLargeRecording(plan.repeat);
  try {
    const ibt = await IbtFile.open(rec.file);
    const variables = STREAM_VARIABLES.filter((n) => ibt.variable(n));
    const vars = floorVariables(rec.file, variables);
    const floorOnce = async (): Promise<void> => {
      let sum = 0;
      await floorPass(rec, vars, (values) => {
        sum += values[0] as number;
      });
      if (Number.isNaN(sum)) throw new Error('unreachable');
    };
    const readerOnce = (): Promise<void> => readerPass(ibt, variables);
    // A warm-up round: the first passes pay for compiling both paths.
    await round_(rec.samples, plan.minMs, floorOnce, readerOnce);
    const reader: number[] = [];
    const floor: number[] = [];
    for (let i = 0; i < plan.rounds; i++) {
      const r = await round_(rec.samples, plan.minMs, floorOnce, readerOnce);
      floor.push(r.floor);
      reader.push(r.reader);
    }
    await ibt.close();
    const ratios = reader.map((r, i) => round(r / (floor[i] as number), 3));
    return {
      samples: rec.samples,
      variables: variables.length,
      readerSamplesPerSec: Math.round(median(reader)),
      floorSamplesPerSec: Math.round(median(floor)),
      ratio: round(median(ratios), 3),
      ratios,
    };
  } finally {
    rec.remove();
  }
}

/**
 * Run as its own process from the bundle (dist/bench/ibt-reader.mjs), as the CLI runs the
 * reader: not under tsx, whose transform would wrap the reader's closures.
 */
export async function runIbtReaderChild(script: string, plan: IbtReaderPlan): Promise<ReaderResult> {
  const { execFile } = await import('node:child_process');
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, [script, JSON.stringify(plan)], { cwd: PROJECT_DIR, maxBuffer: 1024 * 1024 }, (err, out, errText) => (err ? reject(new Error(`${err.message}\n${errText}`)) : resolve(out)));
  });
  return JSON.parse(stdout.trim().split('\n').pop() as string) as ReaderResult;
}

if (process.argv[1]?.endsWith('ibt-reader.mjs') && process.argv[2]) {
  measureIbtReader(JSON.parse(process.argv[2]) as IbtReaderPlan).then(
    (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
    (e: unknown) => {
      process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
      process.exit(1);
    },
  );
}
