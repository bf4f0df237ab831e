// Static security scan of the desktop app with Doyensec's electronegativity, pinned to the
// Electron in node_modules. Every finding fails the run unless
// security/electronegativity-allowlist.json accepts it with a reason; an entry that no longer
// matches anything fails too, so the list only ever holds what is reviewed and still true.
//
// Two scans, each a CLI run of its own, because the global checks (CSP, navigation limits,
// permission handler) judge whatever they are given as one whole app:
//  - source: src-main, src-shared, src-renderer and package.json, as written. This is where a
//    finding is fixed, and its line is the real one. The scanner reads our TypeScript with its
//    Babel parser, which knows current syntax (satisfies, import type, private fields).
//  - shipped: what electron-builder packs: the main and preload bundles of
//    scripts/build-desktop.ts and the Vite-built dashboard in dist/renderer, including the
//    React and chart code the source scan never sees, and the index.html that really ships.
//    The scanner's JavaScript path (esprima, then Babel into an ESLint tree) predates ES2022
//    class fields and gives up on the Node 24 main bundle, so each bundle is lowered to ES2021
//    syntax first: the same calls and literals, only the class features rewritten.
//
// What the CLI does not say on its own, the test checks:
//  - with -o it drops parse errors silently and reports nothing for a file it could not read,
//    so a second run without -o prints them ("Error parsing …") and any one fails the test;
//  - it skips .cjs/.mjs/.cts/.mts files, so they are staged with a .js/.ts suffix added;
//  - an `eng-disable` comment hides a finding inside the code, past this review, so none is
//    allowed in the scanned files.
// Excluded: AvailableSecurityFixesGlobalCheck. It downloads Electron's release list from
// GitHub during the scan, so its verdict depends on the network and the date, not on this
// code (offline it can never report). Keeping Electron current is a dependency-update task.
//
// Offline: the CLI also fetches updated translations (1 s per attempt, two retries, twice per
// run); it then prints "Could not retrieve updated translations" and carries on.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify, stripVTControlCharacters } from 'node:util';
import { transform } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDesktop } from '../scripts/build-desktop';
import { PROJECT_DIR } from './helpers/cli';

const execFileAsync = promisify(execFile);
const resolveModule = createRequire(import.meta.url).resolve;
const ALLOWLIST_FILE = path.join(PROJECT_DIR, 'security', 'electronegativity-allowlist.json');
const CLI_TIMEOUT_MS = 120_000;
const EXCLUDED_CHECKS = ['AvailableSecurityFixesGlobalCheck'];
// Extensions the scanner ignores, and the one added so that it reads the file.
const UNSCANNED_EXTENSIONS: Record<string, string> = { '.cjs': '.js', '.mjs': '.js', '.cts': '.ts', '.mts': '.ts' };

const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(file, 'utf8')) as T;
const electronVersion = readJson<{ version: string }>(resolveModule('electron/package.json')).version;

function scannerCliPath(): string {
  const pkgFile = resolveModule('@doyensec/electronegativity/package.json');
  const bin = readJson<{ bin?: Record<string, string> }>(pkgFile).bin?.electronegativity;
  if (!bin) throw new Error(`${pkgFile} names no electronegativity CLI`);
  return path.join(path.dirname(pkgFile), bin);
}
const scannerCli = scannerCliPath();

type ScanName = 'source' | 'shipped';

interface Scan {
  name: ScanName;
  root: string;
  /** Staged path (relative, posix) → the path in the project, where a suffix was added. */
  renamed: Map<string, string>;
}

interface Finding {
  scan: ScanName;
  check: string;
  /** Relative to the project root (dist/… for the shipped scan); N/A for an app-wide finding. */
  file: string;
  line: number;
  column: number;
  description: string;
  sample: string;
}

interface AllowEntry {
  check: string;
  file: string;
  reason: string;
}

interface ScanResult {
  findings: Finding[];
  parseErrors: string[];
  checksLoaded: string | null;
}

const toPosix = (p: string): string => p.split(path.sep).join('/');

function listFiles(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

function addScannableSuffixes(scan: Scan): void {
  for (const file of listFiles(scan.root)) {
    const suffix = UNSCANNED_EXTENSIONS[path.extname(file)];
    if (!suffix) continue;
    fs.renameSync(file, file + suffix);
    scan.renamed.set(toPosix(path.relative(scan.root, file + suffix)), toPosix(path.relative(scan.root, file)));
  }
}

function stageSource(root: string): Scan {
  const scan: Scan = { name: 'source', root, renamed: new Map() };
  for (const dir of ['src-main', 'src-shared', 'src-renderer']) fs.cpSync(path.join(PROJECT_DIR, dir), path.join(root, dir), { recursive: true });
  fs.copyFileSync(path.join(PROJECT_DIR, 'package.json'), path.join(root, 'package.json'));
  addScannableSuffixes(scan);
  return scan;
}

async function stageShipped(root: string): Promise<Scan> {
  const scan: Scan = { name: 'shipped', root, renamed: new Map() };
  const dist = path.join(root, 'dist');
  // Into the temp dir, not dist/: other test files build there at the same time.
  await buildDesktop({ outDir: dist });
  // The vitest global setup (tests/e2e/build-renderer.ts) has just built it from the sources.
  const renderer = path.join(PROJECT_DIR, 'dist', 'renderer');
  if (!fs.existsSync(path.join(renderer, 'index.html'))) throw new Error(`${renderer}/index.html is missing: the global setup should have built the dashboard`);
  fs.cpSync(renderer, path.join(dist, 'renderer'), { recursive: true });
  addScannableSuffixes(scan);
  for (const file of listFiles(dist).filter((f) => f.endsWith('.js'))) {
    const lowered = await transform(fs.readFileSync(file, 'utf8'), { loader: 'js', target: 'es2021', supported: { 'top-level-await': true } });
    fs.writeFileSync(file, lowered.code);
  }
  return scan;
}

function findInlineSuppressions(scan: Scan): string[] {
  return listFiles(scan.root)
    .filter((f) => /\.(jsx?|tsx?|html?)$/.test(f))
    .filter((f) => fs.readFileSync(f, 'utf8').includes('eng-disable'))
    .map((f) => `${scan.name}: ${scan.renamed.get(toPosix(path.relative(scan.root, f))) ?? toPosix(path.relative(scan.root, f))}`);
}

async function runCli(scan: Scan, extraArgs: string[]): Promise<string> {
  const args = [scannerCli, '-i', scan.root, '-e', electronVersion, '-r', '-x', EXCLUDED_CHECKS.join(','), ...extraArgs];
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, args, {
      cwd: scan.root,
      timeout: CLI_TIMEOUT_MS,
      maxBuffer: 32 * 1024 * 1024,
      // English messages to match on; colour codes off (stripped anyway).
      env: { ...process.env, LANG: 'en-US', FORCE_COLOR: '0', NO_COLOR: '1' },
    });
    return stripVTControlCharacters(`${stdout}\n${stderr}`);
  } catch (err) {
    const e = err as { killed?: boolean; code?: number | string; stdout?: string; stderr?: string };
    const why = e.killed ? `timed out after ${CLI_TIMEOUT_MS / 1000} s` : `exited with ${String(e.code)}`;
    throw new Error(`electronegativity (${scan.name} scan) ${why}:\n${stripVTControlCharacters(`${e.stdout ?? ''}\n${e.stderr ?? ''}`)}`, { cause: err });
  }
}

interface Sarif {
  runs: {
    results: {
      ruleId: string;
      message: { text: string };
      locations: { physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number; startColumn: number } } }[];
    }[];
  }[];
}

function readFindings(scan: Scan, sarifFile: string): Finding[] {
  const sarif = readJson<Sarif>(sarifFile);
  return sarif.runs.flatMap((run) =>
    run.results.map((r): Finding => {
      const loc = r.locations[0]?.physicalLocation;
      const uri = loc?.artifactLocation.uri ?? 'file:///';
      // App-wide findings carry no file; the SARIF writer puts a bare file:/// there.
      const staged = uri === 'file:///' ? null : toPosix(uri);
      const line = loc?.region.startLine ?? 0;
      let sample = '';
      if (staged) {
        const text = fs.readFileSync(path.join(scan.root, staged), 'utf8').split('\n')[line - 1] ?? '';
        sample = text.trim().slice(0, 200);
      }
      return {
        scan: scan.name,
        check: r.ruleId,
        file: staged === null ? 'N/A' : (scan.renamed.get(staged) ?? staged),
        line,
        column: loc?.region.startColumn ?? 0,
        description: r.message.text,
        sample,
      };
    }),
  );
}

async function scanWithCli(scan: Scan, outDir: string): Promise<ScanResult> {
  const sarifFile = path.join(outDir, `${scan.name}.sarif`);
  const [, report] = await Promise.all([runCli(scan, ['-o', sarifFile]), runCli(scan, [])]);
  return {
    findings: readFindings(scan, sarifFile),
    parseErrors: report.split('\n').filter((l) => /error parsing/i.test(l)).map((l) => `${scan.name}: ${l.trim()}`),
    checksLoaded: /\d+ check\(s\) successfully loaded[^\n]*/.exec(report)?.[0] ?? null,
  };
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] ?? '';
    if (c === '*' && glob[i + 1] === '*') {
      i++;
      if (glob[i + 1] === '/') {
        i++;
        re += '(?:.*/)?';
      } else re += '.*';
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

const matches = (entry: AllowEntry, f: Finding): boolean => entry.check === f.check && globToRegExp(entry.file).test(f.file);

function loadAllowList(): { entries: AllowEntry[]; problems: string[] } {
  const raw: unknown = readJson(ALLOWLIST_FILE);
  if (!Array.isArray(raw)) return { entries: [], problems: ['the allow-list must be a JSON array of { check, file, reason }'] };
  const entries: AllowEntry[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const [i, item] of raw.entries()) {
    const at = `entry ${i}`;
    if (typeof item !== 'object' || item === null) {
      problems.push(`${at}: not an object`);
      continue;
    }
    const e = item as Record<string, unknown>;
    const extra = Object.keys(e).filter((k) => !['check', 'file', 'reason'].includes(k));
    if (extra.length > 0) problems.push(`${at}: unknown key(s) ${extra.join(', ')}`);
    if (typeof e.check !== 'string' || !/^[A-Z0-9_]+$/.test(e.check)) problems.push(`${at}: "check" must be a check id such as AUXCLICK_JS_CHECK`);
    if (typeof e.file !== 'string' || e.file.trim() === '') problems.push(`${at}: "file" must be a relative path or glob (N/A for an app-wide finding)`);
    if (typeof e.reason !== 'string' || e.reason.trim() === '') problems.push(`${at} (${String(e.check)} ${String(e.file)}): no reason given`);
    if (typeof e.check !== 'string' || typeof e.file !== 'string' || typeof e.reason !== 'string') continue;
    const key = `${e.check} ${e.file}`;
    if (seen.has(key)) problems.push(`${at}: duplicate of an earlier entry for ${key}`);
    seen.add(key);
    entries.push({ check: e.check, file: e.file, reason: e.reason });
  }
  return { entries, problems };
}

const describeFinding = (f: Finding): string =>
  `${f.check}  ${f.file}${f.file === 'N/A' ? '' : `:${f.line}:${f.column}`}  [${f.scan} scan]  ${f.description}${f.sample ? `\n      ${f.sample}` : ''}`;

let tmp = '';
let scans: Scan[] = [];
let results: ScanResult[] = [];
let findings: Finding[] = [];

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-agent-electronegativity-'));
  scans = [stageSource(path.join(tmp, 'source')), await stageShipped(path.join(tmp, 'shipped'))];
  results = await Promise.all(scans.map((scan) => scanWithCli(scan, tmp)));
  findings = results.flatMap((r) => r.findings);
}, CLI_TIMEOUT_MS + 30_000);

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe(`electronegativity (Electron ${electronVersion})`, () => {
  it('scans the app code it is meant to', () => {
    const staged = (scan: ScanName, rel: string) => fs.existsSync(path.join(tmp, scan, rel));
    for (const rel of ['src-main/shell/main.ts', 'src-main/shell/adapters.ts', 'src-main/shell/preload.ts', 'src-renderer/index.html', 'package.json']) expect(staged('source', rel), rel).toBe(true);
    for (const rel of ['dist/main/main.js', 'dist/preload/preload.cjs.js', 'dist/renderer/index.html']) expect(staged('shipped', rel), rel).toBe(true);
    for (const r of results) expect(r.checksLoaded, 'the CLI reached the scan').not.toBeNull();
  });

  it('read every file it scanned', () => {
    const errors = results.flatMap((r) => r.parseErrors);
    expect(errors, `electronegativity could not parse these files, so it checked nothing in them:\n${errors.join('\n')}`).toEqual([]);
  });

  it('is not silenced by eng-disable comments in the code', () => {
    const suppressed = scans.flatMap(findInlineSuppressions);
    expect(suppressed, `accept a finding in ${path.relative(PROJECT_DIR, ALLOWLIST_FILE)} with a reason instead of an eng-disable comment in:\n${suppressed.join('\n')}`).toEqual([]);
  });

  it('has a well-formed allow-list: each entry a check, a file and a reason', () => {
    const { problems } = loadAllowList();
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it('reports nothing that is not allow-listed', () => {
    const { entries } = loadAllowList();
    const unaccepted = findings.filter((f) => !entries.some((e) => matches(e, f))).map(describeFinding);
    expect(unaccepted, `finding(s) not in ${path.relative(PROJECT_DIR, ALLOWLIST_FILE)}: fix the code, or accept them there with a specific reason`).toEqual([]);
  });

  it('has no stale allow-list entries', () => {
    const { entries } = loadAllowList();
    const stale = entries.filter((e) => !findings.some((f) => matches(e, f))).map((e) => `${e.check} ${e.file}`);
    expect(stale, `allow-list entries that match no finding any more: remove them. This run found:\n${findings.map(describeFinding).join('\n')}`).toEqual([]);
  });
});
