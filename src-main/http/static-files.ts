// The built dashboard's files, resolved safely from a URL path: one place for the rules the
// HTTP dashboard and the desktop window's app:// protocol both follow.
import fs from 'node:fs';
import path from 'node:path';

export const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

export interface StaticFile {
  file: string;
  size: number;
  contentType: string;
}

/**
 * The file a URL path names under root, or null when there is none: anything that resolves
 * outside the root (../, an encoded ..%2f, an absolute path, a symbolic link pointing out)
 * is simply not there. "/" is index.html.
 */
export function resolveStaticFile(root: string, pathname: string): StaticFile | null {
  const base = path.resolve(root);
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return null;
  }
  if (decoded.includes('\0')) return null;
  const relative = decoded === '/' || decoded === '' ? 'index.html' : decoded.replace(/^\/+/, '');
  const file = path.resolve(base, relative);
  if (file !== base && !file.startsWith(base + path.sep)) return null;
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
    if (!stat.isFile()) return null;
    const real = fs.realpathSync(file);
    const realRoot = fs.realpathSync(base);
    if (!real.startsWith(realRoot + path.sep)) return null;
  } catch {
    return null;
  }
  return { file, size: stat.size, contentType: CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream' };
}
