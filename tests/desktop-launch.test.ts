// The desktop app's launch arguments and login items (src-main/desktop/launch.ts).
import { describe, expect, it } from 'vitest';
import { DEFAULT_DESKTOP_PREFS } from '../src-shared/desktop';
import { loginItemPlan, parseLaunchArgs, shouldStartHidden } from '../src-main/desktop/launch';

describe('launch arguments', () => {
  it('recognises our flags among the executable, the app path and Chromium switches', () => {
    expect(
      parseLaunchArgs(['C:\\Program Files\\Relay Agent\\Relay Agent.exe', '--hidden', '--no-sandbox', '--with-iracing', '--inspect=9229', '--config-dir', 'D:\\relay cfg', '--source=ibt:C:\\laps\\spa.ibt']),
    ).toEqual({ hidden: true, withIRacing: true, configDir: 'D:\\relay cfg', source: 'ibt:C:\\laps\\spa.ibt', problems: [] });
    expect(parseLaunchArgs(['/usr/lib/electron/electron', '/home/me/relay-agent', '--enable-logging', '--config-dir=/tmp/cfg', '--source', 'synthetic'])).toEqual({
      hidden: false,
      withIRacing: false,
      configDir: '/tmp/cfg',
      source: 'synthetic',
      problems: [],
    });
  });

  it('defaults to nothing with no arguments', () => {
    expect(parseLaunchArgs([])).toEqual({ hidden: false, withIRacing: false, problems: [] });
    expect(parseLaunchArgs(['relay.exe', '-psn_0_12345'])).toEqual({ hidden: false, withIRacing: false, problems: [] });
  });

  it('reports unknown --relay- flags as problems without throwing', () => {
    const args = parseLaunchArgs(['app', '--relay-debug', '--relay-port=9', '--hidden']);
    expect(args.hidden).toBe(true);
    expect(args.problems).toEqual([expect.stringContaining('--relay-debug'), expect.stringContaining('--relay-port')]);
  });

  it('reports a missing or empty value, and a value given to a switch', () => {
    expect(parseLaunchArgs(['app', '--config-dir']).problems).toEqual([expect.stringContaining('--config-dir needs a directory')]);
    expect(parseLaunchArgs(['app', '--config-dir=']).problems).toEqual([expect.stringContaining('--config-dir needs a directory')]);
    const next = parseLaunchArgs(['app', '--source', '--hidden']);
    expect(next.source).toBeUndefined();
    expect(next.hidden).toBe(true);
    expect(next.problems).toEqual([expect.stringContaining('--source needs a source spec')]);
    const withValue = parseLaunchArgs(['app', '--hidden=yes']);
    expect(withValue.hidden).toBe(true);
    expect(withValue.problems).toEqual([expect.stringContaining('takes no value')]);
  });

  it('uses the last of a repeated value option and says so', () => {
    const args = parseLaunchArgs(['app', '--config-dir', 'a', '--config-dir=b']);
    expect(args.configDir).toBe('b');
    expect(args.problems).toEqual([expect.stringContaining('more than once')]);
  });

  it('reads nothing after "--"', () => {
    expect(parseLaunchArgs(['app', '--', '--hidden', '--relay-x'])).toEqual({ hidden: false, withIRacing: false, problems: [] });
  });

  it('plans login items per platform', () => {
    const prefs = { ...DEFAULT_DESKTOP_PREFS };
    expect(loginItemPlan('win32', prefs)).toEqual({ supported: true, openAtLogin: false, args: [] });
    expect(loginItemPlan('win32', { ...prefs, launchAtLogin: true })).toEqual({ supported: true, openAtLogin: true, args: ['--hidden'] });
    expect(loginItemPlan('win32', { ...prefs, launchWithIRacing: true })).toEqual({ supported: true, openAtLogin: true, args: ['--hidden', '--with-iracing'] });
    expect(loginItemPlan('win32', { ...prefs, launchAtLogin: true, launchWithIRacing: true })).toEqual({ supported: true, openAtLogin: true, args: ['--hidden', '--with-iracing'] });
    expect(loginItemPlan('darwin', { ...prefs, launchAtLogin: true })).toEqual({ supported: true, openAtLogin: true, args: ['--hidden'] });
    expect(loginItemPlan('darwin', { ...prefs, launchWithIRacing: true })).toEqual({ supported: true, openAtLogin: false, args: [] });
    const linux = loginItemPlan('linux', { ...prefs, launchAtLogin: true, launchWithIRacing: true });
    expect(linux).toMatchObject({ supported: false, openAtLogin: false, args: [] });
    expect(linux.reason).toMatch(/autostart/);
    expect(loginItemPlan('freebsd', { ...prefs, launchAtLogin: true }).supported).toBe(false);
  });

  it('the login item arguments parse back to what they mean', () => {
    const plan = loginItemPlan('win32', { launchAtLogin: false, launchWithIRacing: true });
    expect(parseLaunchArgs(['Relay Agent.exe', ...plan.args])).toEqual({ hidden: true, withIRacing: true, problems: [] });
  });

  it('starts hidden when the argument or the preference says so', () => {
    expect(shouldStartHidden({ hidden: false }, { startHidden: false })).toBe(false);
    expect(shouldStartHidden({ hidden: true }, { startHidden: false })).toBe(true);
    expect(shouldStartHidden({ hidden: false }, { startHidden: true })).toBe(true);
    expect(shouldStartHidden(parseLaunchArgs(['x', '--hidden']), DEFAULT_DESKTOP_PREFS)).toBe(true);
  });
});
