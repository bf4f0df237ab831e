// --source specs (synthetic, ibt:<file>, iracing), shared by the headless CLI and the desktop app.
import path from 'node:path';
import type { Settings } from '../../src-shared/settings';
import { SyntheticSource } from './synthetic';
import { IbtReplaySource } from './ibt-replay';
import type { SourceFactory, StreamSettings } from './source';
import { IRacingSource } from './iracing/iracing-source';

export class SourceSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SourceSpecError';
  }
}

export function parseSourceSpec(spec: string, speedText: string | undefined, loop: boolean): SourceFactory {
  if ((speedText !== undefined || loop) && !spec.startsWith('ibt:')) {
    throw new SourceSpecError(`--speed and --loop apply to a recording; expected --source ibt:<file.ibt> with them (got --source ${spec})`);
  }
  if (spec === 'synthetic') return () => new SyntheticSource();
  if (spec === 'iracing') {
    return (settings, { registry, log }) => new IRacingSource({ ...streamSettings(settings), registry, onProblem: (m) => log.warn(`iRacing: ${m}`) });
  }
  if (spec.startsWith('ibt:')) {
    const file = spec.slice(4);
    if (!file) throw new SourceSpecError('--source ibt: needs a path, as in --source ibt:C:/Users/me/Documents/iRacing/telemetry/lap.ibt');
    let speed: number | 'max' = 1;
    if (speedText !== undefined) {
      const n = Number(speedText);
      if (speedText === 'max') speed = 'max';
      else if (/^\s*\d+(\.\d+)?\s*$/.test(speedText) && n > 0 && n <= 1000) speed = n;
      else throw new SourceSpecError(`--speed: got ${JSON.stringify(speedText)}; expected a factor above 0 and up to 1000 (2 = twice the recorded pace) or "max"`);
    }
    return (settings) => new IbtReplaySource({ path: path.resolve(file), speed, loop, ...streamSettings(settings) });
  }
  throw new SourceSpecError(`--source: got ${JSON.stringify(spec)}; expected synthetic, ibt:<file.ibt> or iracing`);
}

function streamSettings(s: Settings): StreamSettings {
  return { controlsVars: s.controlsVars, baselineVars: s.baselineVars, baselineHz: s.baselineHz, sharePersonalData: s.sharePersonalData, sourceStaleMs: s.sourceStaleMs };
}

