/** Content negotiation helpers shared by the routes that can answer a bare PNG. */
import type { FastifyRequest } from 'fastify';
import { badParameter } from '../errors.ts';

/** True when the client asked for `image/png` (and did not prefer JSON). */
export function wantsPng(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? '';
  return /\bimage\/png\b/.test(accept) && !/application\/json/.test(accept);
}

/** A bare PNG answers exactly one image. */
export function requireSingleForPng(count: number): void {
  if (count !== 1) throw badParameter('images', `Accept: image/png answers one image; this request has ${count}`);
}
