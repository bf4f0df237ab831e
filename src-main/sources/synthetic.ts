// A telemetry source that needs no simulator: a car lapping a made-up circuit, with
// throttle, brake, steering, gear and rpm that move the way a real lap does. The demo
// and the tests run on it; the bench uses it for its 60 Hz load.
import { randomBytes } from 'node:crypto';
import type { SourceSession, SourceSink, SourceState, TelemetrySource } from './source';

export interface SyntheticOptions {
  controlsHz?: number;
  baselineHz?: number;
  /** Fixed session id (tests); a fresh one per run otherwise. */
  sessionId?: string;
  /**
   * Where in its period each tick falls, in ms after the wall clock's tick grid (default 0).
   * The bench sets its plain sender's ticks in step with the relay's, or half a period apart.
   */
  phaseMs?: number;
}

// Corner list of the made-up circuit: where braking starts (fraction of the lap), how hard,
// and the speed (m/s) and steering (rad) through the corner.
const CORNERS = [
  { at: 0.12, length: 0.05, brake: 0.95, speed: 24, steer: 1.4 },
  { at: 0.31, length: 0.04, brake: 0.6, speed: 42, steer: -0.8 },
  { at: 0.52, length: 0.06, brake: 1.0, speed: 20, steer: -1.9 },
  { at: 0.71, length: 0.03, brake: 0.4, speed: 55, steer: 0.5 },
  { at: 0.88, length: 0.05, brake: 0.85, speed: 30, steer: 1.1 },
];
const LAP_LENGTH_M = 4300;
const TOP_SPEED = 82;
const GEAR_TOP_SPEEDS = [0, 22, 33, 44, 55, 66, 75, 90];

/**
 * When the current period began, on a grid of `periodMs` steps counted from the Unix epoch
 * and shifted by `phaseMs`: every synthetic source on a machine, in any process, then ticks
 * on the same instants (timers allowing). Where two processes' 60 Hz clocks fall against
 * each other changes what each costs on a shared machine (the one that wakes after the
 * longer idle gap pays more), so the bench must choose that, not leave it to start-up time.
 */
export function gridStart(nowMs: number, timeOriginMs: number, periodMs: number, phaseMs: number): number {
  const intoPeriod = (((timeOriginMs + nowMs - phaseMs) % periodMs) + periodMs) % periodMs;
  return nowMs - intoPeriod;
}

export class SyntheticSource implements TelemetrySource {
  readonly kind = 'synthetic';
  readonly streams = ['controls', 'baseline'] as const;
  private timer?: NodeJS.Timeout;
  private sink?: SourceSink;
  private current: SourceState = 'not-running';
  private produced = 0;
  private readonly sessionValue: SourceSession;
  private readonly controlsHz: number;
  private readonly baselineHz: number;
  private readonly baselineStride: number;
  private startedAt = 0;
  private readonly phaseMs: number;
  private tick = 0;
  private lap = 1;
  private lapPct = 0;
  private speed = 30;
  private fuel = 60;
  private sessionTime = 0;

  constructor(options: SyntheticOptions = {}) {
    this.controlsHz = options.controlsHz ?? 60;
    this.baselineHz = options.baselineHz ?? 4;
    this.baselineStride = Math.max(1, Math.round(this.controlsHz / this.baselineHz));
    this.phaseMs = options.phaseMs ?? 0;
    if (!Number.isFinite(this.phaseMs)) throw new Error(`synthetic source: phaseMs must be a finite number of ms, got ${options.phaseMs}`);
    const id = options.sessionId ?? `synthetic-${randomBytes(6).toString('hex')}`;
    this.sessionValue = {
      sessionId: id,
      meta: { source: 'synthetic', track: 'Synthetic Ring', car: 'Synthetic GT', sessionType: 'Practice' },
      tickStrides: { controls: 1, baseline: this.baselineStride },
    };
  }

  get state(): SourceState {
    return this.current;
  }

  get framesProduced(): number {
    return this.produced;
  }

  get session(): SourceSession {
    return this.sessionValue;
  }

  start(sink: SourceSink): void {
    this.sink = sink;
    sink.session(this.sessionValue);
    this.setState('live');
    this.startedAt = gridStart(performance.now(), performance.timeOrigin, 1000 / this.controlsHz, this.phaseMs);
    this.schedule();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.setState('ended');
  }

  // Ticks are due by the clock, not by timer count: timers drift late, and a source that
  // fell behind catches up, so the rate is exact over any minute.
  private schedule(): void {
    const period = 1000 / this.controlsHz;
    const due = Math.floor(((performance.now() - this.startedAt) / 1000) * this.controlsHz);
    while (this.tick < due) this.step();
    const nextAt = this.startedAt + (this.tick + 1) * period;
    this.timer = setTimeout(() => this.schedule(), Math.max(0, nextAt - performance.now()));
  }

  private step(): void {
    const dt = 1 / this.controlsHz;
    this.tick++;
    this.sessionTime += dt;
    const corner = CORNERS.find((c) => this.lapPct >= c.at - 0.03 && this.lapPct < c.at + c.length);
    let throttle = 1;
    let brake = 0;
    let steer = 0;
    if (corner) {
      const inBrakeZone = this.lapPct < corner.at;
      const progress = (this.lapPct - corner.at) / corner.length;
      if (inBrakeZone && this.speed > corner.speed) {
        throttle = 0;
        brake = corner.brake;
      } else {
        throttle = Math.min(1, Math.max(0.2, progress));
        steer = corner.steer * Math.sin(Math.PI * Math.min(1, Math.max(0, progress)));
      }
    }
    const accel = throttle * 9 * (1 - this.speed / TOP_SPEED) - brake * 35 - 0.4;
    this.speed = Math.max(5, Math.min(TOP_SPEED, this.speed + accel * dt));
    this.lapPct += (this.speed * dt) / LAP_LENGTH_M;
    if (this.lapPct >= 1) {
      this.lapPct -= 1;
      this.lap++;
    }
    this.fuel = Math.max(0, this.fuel - throttle * 0.0009);
    const gear = Math.max(1, GEAR_TOP_SPEEDS.findIndex((top) => this.speed <= top));
    const low = GEAR_TOP_SPEEDS[gear - 1] ?? 0;
    const high = GEAR_TOP_SPEEDS[gear] ?? TOP_SPEED;
    const rpm = 4200 + ((this.speed - low) / Math.max(1, high - low)) * 7600;
    const noise = () => (Math.random() - 0.5) * 0.01;
    this.emit('controls', {
      SessionTime: round(this.sessionTime, 3),
      Throttle: round(clamp01(throttle + noise()), 4),
      Brake: round(clamp01(brake + (brake > 0 ? noise() : 0)), 4),
      Clutch: 0,
      SteeringWheelAngle: round(steer + noise(), 4),
      Gear: gear,
      RPM: round(rpm, 1),
      Speed: round(this.speed, 3),
    });
    if (this.tick % this.baselineStride === 0) {
      this.emit('baseline', {
        SessionTime: round(this.sessionTime, 3),
        SessionNum: 0,
        Lap: this.lap,
        LapDistPct: round(this.lapPct, 5),
        FuelLevel: round(this.fuel, 3),
        OnPitRoad: false,
        PlayerCarPosition: 1,
        SessionState: 'racing',
      });
    }
  }

  private emit(stream: string, data: Record<string, unknown>): void {
    this.produced++;
    this.sink?.sample({ stream, data, tick: this.tick });
  }

  private setState(state: SourceState): void {
    this.current = state;
    this.sink?.state(state);
  }
}

const clamp01 = (v: number) => Math.min(1, Math.max(0, v));
const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;
