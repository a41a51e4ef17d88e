/**
 * "Copy as curl": the exact request an action sent, as a shell command anyone can rerun. Small
 * bodies are inlined; a large one (an uploaded photo) is referred to as `@request.json`, which the
 * page offers as a download next to the command.
 */

const INLINE_LIMIT = 16_000;

const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

export interface CurlCommand { command: string; body: string; inline: boolean }

export interface CurlOptions { key?: string; stream?: boolean; get?: boolean; /** Default: the page's own origin. */ origin?: string }

export function curlFor(path: string, body: unknown, options: CurlOptions = {}): CurlCommand {
  const url = `${options.origin ?? globalThis.location.origin}${path}`;
  const parts = ['curl'];
  if (options.key) parts.push('-H', quote(`x-api-key: ${options.key}`));
  if (options.stream) parts.push('-N', '-H', quote('accept: text/event-stream'));
  const json = options.get ? '' : JSON.stringify(body);
  const inline = json.length <= INLINE_LIMIT;
  if (!options.get) parts.push('-H', quote('content-type: application/json'));
  parts.push(quote(url));
  if (!options.get) parts.push('-d', inline ? quote(json) : '@request.json');
  return { command: parts.join(' '), body: json, inline };
}
