// Which generated icon file the shell loads where. The names are shared with
// scripts/make-icons.ts, which writes them into assets/, so the shell, the generator and
// the tests cannot drift apart. No electron import: the shell resolves the names to paths.
import { TRAY_ICON_STATES, type TrayIconState } from '../../src-shared/desktop';

export const APP_ICON_FILES = { png: 'icon.png', ico: 'icon.ico' } as const;

/** The app icon's PNG edge; electron-builder derives the Linux sizes from it. */
export const APP_ICON_PNG_SIZE = 512;
/** Windows picks the entry nearest the shell's need (Explorer, taskbar, Alt+Tab, installer). */
export const APP_ICO_SIZES = [16, 24, 32, 48, 64, 128, 256] as const;
/** The Linux tray PNG; the @2x file is twice this, for HiDPI panels. */
export const TRAY_PNG_SIZE = 32;
/** Windows tray sizes: 16 px at 100 % scaling, then 125, 150, 200, 250 and 300 %. */
export const TRAY_ICO_SIZES = [16, 20, 24, 32, 40, 48] as const;
/** The macOS menu bar template image; the @2x file is twice this. */
export const TRAY_TEMPLATE_SIZE = 16;

export function trayPngFile(state: TrayIconState, scale: 1 | 2 = 1): string {
  return `tray-${state}${scale === 2 ? '@2x' : ''}.png`;
}

export function trayIcoFile(state: TrayIconState): string {
  return `tray-${state}.ico`;
}

/**
 * macOS treats an image as a template (drawn in the menu bar's own colour, so it follows
 * light and dark mode) only when the name ends in "Template" before the @2x and the
 * extension: the state therefore goes before it, not after.
 */
export function trayTemplateFile(state: TrayIconState, scale: 1 | 2 = 1): string {
  return `tray-${state}Template${scale === 2 ? '@2x' : ''}.png`;
}

/**
 * The asset file the tray loads for a state. Electron finds the @2x sibling of a PNG on
 * its own (macOS and Linux), and on Windows it takes the ICO entry that fits the DPI.
 */
export function trayIconFiles(platform: NodeJS.Platform, state: TrayIconState): string {
  if (platform === 'win32') return trayIcoFile(state);
  if (platform === 'darwin') return trayTemplateFile(state);
  return trayPngFile(state);
}

export const ALL_ASSET_FILES: readonly string[] = [
  APP_ICON_FILES.png,
  APP_ICON_FILES.ico,
  ...TRAY_ICON_STATES.flatMap((state) => [
    trayPngFile(state),
    trayPngFile(state, 2),
    trayIcoFile(state),
    trayTemplateFile(state),
    trayTemplateFile(state, 2),
  ]),
];
