// The synthetic source's clock: ticks fall on a grid counted from the Unix epoch, shifted by
// its phase, so two sources in two processes tick in step (or a chosen part of a period
// apart) whenever they started. The bench relies on it to put its plain sender's clock where
// it chooses against the relay's (bench/cpu.ts).
import { describe, expect, it } from 'vitest';
import { SyntheticSource, gridStart } from '../src-main/sources/synthetic';

function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

describe('gridStart', () => {
  it('gives the start of the current period on the epoch grid, shifted by the phase', () => {
    // Epoch time 1000 + 35 = 1035 ms: 15 ms into a 20 ms period that began at epoch 1020.
    expect(gridStart(35, 1000, 20, 0)).toBe(20);
    // With a 7 ms phase the periods begin at epoch ...1007, 1027: 8 ms into one.
    expect(gridStart(35, 1000, 20, 7)).toBe(27);
    // A phase past the period or below zero wraps around it.
    expect(gridStart(35, 1000, 20, 27)).toBe(27);
    expect(gridStart(35, 1000, 20, -13)).toBe(27);
    // Exactly on the grid: the period begins now.
    expect(gridStart(40, 1000, 20, 0)).toBe(40);
  });

  it('is the same instant for two processes with different time origins', () => {
    const a = gridStart(5_000.25, 1_764_000_000_000.5, 1000 / 60, 3);
    const b = gridStart(123.75, 1_764_000_004_877, 1000 / 60, 3);
    // Both as epoch times: the same grid line, or whole periods apart.
    const apart = 1_764_000_000_000.5 + a - (1_764_000_004_877 + b);
    expect(Math.abs(apart / (1000 / 60) - Math.round(apart / (1000 / 60)))).toBeLessThan(1e-6);
  });
});

describe('SyntheticSource clock', () => {
  /** Epoch ms of each controls sample, for `ticks` ticks. */
  async function tickTimes(phaseMs: number, ticks: number): Promise<number[]> {
    const source = new SyntheticSource({ controlsHz: 50, baselineHz: 5, phaseMs });
    const times: number[] = [];
    await new Promise<void>((resolve) => {
      source.start({
        session: () => {},
        state: () => {},
        sample: (s) => {
          if (s.stream !== 'controls') return;
          times.push(performance.timeOrigin + performance.now());
          if (times.length === ticks) resolve();
        },
      });
    });
    await source.stop();
    return times;
  }

  /** How far after its grid line (epoch multiple of `period` plus `phase`) each time fell. */
  const lateness = (times: number[], period: number, phase: number): number[] => times.map((t) => (((t - phase) % period) + period) % period);

  it('ticks on its grid line plus timer lateness, for any phase', async () => {
    const [a, b] = await Promise.all([tickTimes(0, 25), tickTimes(13, 25)]);
    // Timers fire late, never early; the median tick is within a few ms of its line, where
    // an unaligned start would put it anywhere in the 20 ms period.
    expect(median(lateness(a, 20, 0))).toBeLessThan(6);
    expect(median(lateness(b, 20, 13))).toBeLessThan(6);
    // And the two sources are 13 ms apart, whenever each started.
    expect(median(lateness(b, 20, 0))).toBeGreaterThanOrEqual(13);
    expect(median(lateness(b, 20, 0))).toBeLessThan(19);
  });

  it('refuses a phase that is not a number of ms', () => {
    expect(() => new SyntheticSource({ phaseMs: Number.NaN })).toThrow(/phaseMs must be a finite number of ms, got NaN/);
  });
});
