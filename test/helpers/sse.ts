/**
 * Event streams in tests: parse an SSE body into its events, and open a stream on a listening app
 * that hangs up as soon as the first `progress` event arrives (a client that leaves mid-stream).
 */
import { request as httpRequest } from 'node:http';
import type { FastifyInstance } from 'fastify';

export interface StreamEvent {
  event: string;
  data: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- each test reads the fields it expects
}

/** The events of an SSE body, in order (one `event:` and one `data:` line each). */
export function parseEvents(text: string): StreamEvent[] {
  return text.trim().split('\n\n').map((block) => {
    const [eventLine = '', dataLine = ''] = block.split('\n');
    return { event: eventLine.replace('event: ', ''), data: JSON.parse(dataLine.replace('data: ', '')) };
  });
}

/** Posts `body` asking for an event stream and disconnects once a `progress` event has arrived; resolves then. */
export async function hangUpAfterFirstProgress(app: FastifyInstance, path: string, body: unknown, timeoutMs = 30_000): Promise<void> {
  if (!app.server.listening) await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no progress event')), timeoutMs);
    const req = httpRequest({ host: '127.0.0.1', port, path, method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream' } }, (res) => {
      let seen = '';
      res.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        if (!seen.includes('event: progress')) return;
        clearTimeout(timer);
        req.destroy(); // hang up mid-stream
        resolve();
      });
      res.on('end', () => reject(new Error(`the stream ended before the client left: ${seen}`)));
    });
    req.on('error', () => {});
    req.end(JSON.stringify(body));
  });
}
