import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { PACKAGE_ROOT } from '../config/paths.js';

/** The page's files live in the package (src/ui/static), found the same way from src/ and dist/. */
export const STATIC_DIR = resolve(PACKAGE_ROOT, 'src', 'ui', 'static');

export interface StaticAsset {
  body: Buffer;
  contentType: string;
}

/** URL path → file; a fixed table, so no request path ever reaches the file system. */
const ASSETS: Record<string, { file: string; contentType: string }> = {
  '/': { file: 'index.html', contentType: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', contentType: 'text/javascript; charset=utf-8' },
  '/live-view.js': { file: 'live-view.js', contentType: 'text/javascript; charset=utf-8' },
  '/live-stream.js': { file: 'live-stream.js', contentType: 'text/javascript; charset=utf-8' },
  '/hls-player.js': { file: 'hls-player.js', contentType: 'text/javascript; charset=utf-8' },
  '/motion-overlay.js': { file: 'motion-overlay.js', contentType: 'text/javascript; charset=utf-8' },
  '/format.js': { file: 'format.js', contentType: 'text/javascript; charset=utf-8' },
  '/app.css': { file: 'app.css', contentType: 'text/css; charset=utf-8' },
  '/favicon.svg': { file: 'favicon.svg', contentType: 'image/svg+xml' },
};

/** Reads every asset once at start-up; a missing file is a packaging error, reported by name. */
export async function loadStaticAssets(dir = STATIC_DIR): Promise<Map<string, StaticAsset>> {
  const loaded = new Map<string, StaticAsset>();
  for (const [path, { file, contentType }] of Object.entries(ASSETS)) {
    const full = resolve(dir, file);
    try {
      loaded.set(path, { body: await readFile(full), contentType });
    } catch (error) {
      throw new Error(`console asset ${full} cannot be read: ${(error as Error).message}`);
    }
  }
  return loaded;
}
