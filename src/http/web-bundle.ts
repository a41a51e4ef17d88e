/**
 * Builds the lab page (web/, TypeScript + Preact) with esbuild, in memory, once per process: the
 * server needs no build step and no writable folder (`npm ci && npm start` serves it; a read-only
 * container too). esbuild bundles and minifies the ~100 kB of source in well under a second on
 * first use. `scripts/build-web.ts` calls the same function to report what a browser downloads.
 */
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

export const WEB_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../web');

export interface WebAsset {
  body: Buffer;
  contentType: string;
  /** A strong ETag (content hash): browsers revalidate and get a 304 while the page is unchanged. */
  etag: string;
  /** The same bytes gzipped once at build time, for browsers that accept gzip. */
  gzip: Buffer;
  gzipBytes: number;
}

/** The pages' assets by file name (`lab.js`, `lab.css`, `student.js`, `student.css`). */
export type WebBundle = Map<string, WebAsset>;

const TYPES: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

async function buildBundle(): Promise<WebBundle> {
  const result = await build({
    // Two pages: the white-box lab and the black-box student's view, which must not carry the lab's code.
    entryPoints: { lab: path.join(WEB_ROOT, 'lab-main.tsx'), student: path.join(WEB_ROOT, 'student-main.tsx') },
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    write: false,
    outdir: '/lab',
    logLevel: 'silent',
    legalComments: 'none',
  });
  const bundle: WebBundle = new Map();
  for (const file of result.outputFiles) {
    const name = path.basename(file.path);
    const body = Buffer.from(file.contents);
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    const gzip = gzipSync(body, { level: 9 });
    bundle.set(name, { body, contentType: TYPES[path.extname(name)] ?? 'application/octet-stream', etag, gzip, gzipBytes: gzip.length });
  }
  return bundle;
}

let cached: Promise<WebBundle> | undefined;

/** The built page; built on first call, then shared (a failed build is retried on the next call). */
export function webBundle(): Promise<WebBundle> {
  cached ??= buildBundle().catch((err: unknown) => {
    cached = undefined;
    throw err;
  });
  return cached;
}
