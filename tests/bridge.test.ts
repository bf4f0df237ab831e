// The typed bridge's contract (src-shared/bridge.ts): the one shape of a refusal, shared by
// the HTTP API, the IPC handlers and the dashboard.
import { describe, expect, it } from 'vitest';
import { KillSwitchRequestSchema, SettingsUpdateSchema, failure, schemaProblems } from '../src-shared/bridge';

describe('refusals', () => {
  it('failure() lists problems only when there are some', () => {
    expect(failure(503, 'the relay is stopping')).toEqual({ ok: false, status: 503, error: 'the relay is stopping' });
    expect('problems' in failure(503, 'the relay is stopping')).toBe(false);
    expect(failure(400, 'bad', ['mode: expected single or parallel'])).toEqual({ ok: false, status: 400, error: 'bad', problems: ['mode: expected single or parallel'] });
  });

  it('schemaProblems() names the field of each problem, and the value itself when the problem is the whole of it', () => {
    const field = SettingsUpdateSchema.safeParse({ mode: 'sideways', backends: [{ url: 1, enabled: true }] });
    expect(field.success).toBe(false);
    const lines = schemaProblems(field.error!, '(body)');
    expect(lines.some((l) => l.startsWith('mode: '))).toBe(true);
    expect(lines.some((l) => l.startsWith('backends.0.url: '))).toBe(true);

    const whole = KillSwitchRequestSchema.safeParse('on');
    expect(schemaProblems(whole.error!, '(argument)')).toEqual([expect.stringMatching(/^\(argument\): /)]);
    expect(schemaProblems(whole.error!, '(body)')).toEqual([expect.stringMatching(/^\(body\): /)]);
  });
});
