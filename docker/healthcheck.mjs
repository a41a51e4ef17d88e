// Container health check: exit 0 when gradlab's /readyz answers 200 (every model loaded and warm).
// Plain JavaScript with no dependencies, so it runs with `node docker/healthcheck.mjs` anywhere.
const port = process.env.PORT || '8080';
const url = `http://127.0.0.1:${port}/readyz`;
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(4000) });
  process.exit(res.status === 200 ? 0 : 1);
} catch {
  process.exit(1);
}
