/**
 * Reads a multipart/form-data request with every limit holding before the bytes are kept: the
 * declared Content-Length and then every byte received count against one body limit (files and
 * text fields together), text fields are limited in number and size, and images in number. When
 * a limit is passed the rest of the upload is discarded as it arrives, never buffered. Malformed
 * multipart (no boundary, a body that ends early) is a 400 naming no library.
 */
import type { FastifyRequest } from 'fastify';
import type { Limits } from '../config.ts';
import { badParameter, GradlabError, tooLarge } from '../errors.ts';

export type MultipartLimits = Pick<Limits, 'maxBodyBytes' | 'maxBatchSize' | 'maxFields' | 'maxFieldBytes' | 'maxImageBytes'>;

export interface MultipartPart {
  kind: 'file' | 'text';
  field: string;
  /** Files: the bytes; text fields: the text. */
  value: Buffer | string;
}

const bodyTooLarge = (limits: MultipartLimits) =>
  tooLarge('body', `the request body is larger than the limit of ${limits.maxBodyBytes} bytes (files and fields together)`);

/** What went wrong in the multipart framing, in the API's words (busboy's own messages stay in the log). */
function malformed(err: unknown): unknown {
  if (err instanceof GradlabError || (err as { code?: string }).code?.startsWith('FST_')) return err;
  const message = (err as Error).message ?? '';
  if (/boundary not found/i.test(message)) {
    return new GradlabError('GRADLAB_BAD_REQUEST', 'multipart/form-data needs a boundary parameter in its Content-Type');
  }
  if (/multipart|unexpected end|terminated early|premature close/i.test(message) || (err as { code?: string }).code === 'ERR_STREAM_PREMATURE_CLOSE') {
    return new GradlabError('GRADLAB_BAD_REQUEST', 'the multipart/form-data body is malformed or ended early');
  }
  return err;
}

/** The busboy limits behind ours: a little above them, so that our checks (with their messages) come first. */
export function busboyLimits(limits: MultipartLimits) {
  return {
    fileSize: limits.maxImageBytes,
    files: limits.maxBatchSize + 1,
    fields: limits.maxFields + limits.maxBatchSize + 1,
    fieldSize: limits.maxFieldBytes + 1,
    parts: limits.maxFields + limits.maxBatchSize + 2,
  };
}

/**
 * Every part of a multipart request, in order, with `isImage(field)` deciding which text fields
 * carry images (they count as images, not as fields). Throws 400/413 GradlabErrors.
 */
export async function readMultipartParts(request: FastifyRequest, limits: MultipartLimits, isImage: (field: string) => boolean): Promise<MultipartPart[]> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > limits.maxBodyBytes) {
    discardRest(request);
    throw bodyTooLarge(limits);
  }
  const raw = request.raw;
  const parts = request.parts();
  // The first `next()` starts the parser reading the request; only then may we listen to its bytes.
  const first = parts.next();
  let received = 0;
  const count = (chunk: Buffer) => {
    received += chunk.length;
    if (received > limits.maxBodyBytes) {
      raw.off('data', count);
      // The multipart plugin ends its parts with an error emitted on the request.
      raw.emit('error', bodyTooLarge(limits));
    }
  };
  raw.on('data', count);
  const out: MultipartPart[] = [];
  let fields = 0;
  let images = 0;
  try {
    for (let next = await first; !next.done; next = await parts.next()) {
      const part = next.value;
      if (part.type === 'file') {
        if (!isImage(part.fieldname)) {
          throw badParameter(part.fieldname, "is not a known file field; send images in 'image' or 'images'");
        }
        if (++images > limits.maxBatchSize) throw tooLarge('images', `more than ${limits.maxBatchSize} images in one request`);
        const bytes = await part.toBuffer();
        if (part.file.truncated) throw tooLarge(`images[${out.length}]`, `an uploaded image is larger than the limit of ${limits.maxImageBytes} bytes`);
        out.push({ kind: 'file', field: part.fieldname, value: bytes });
        continue;
      }
      const image = isImage(part.fieldname);
      if (image && ++images > limits.maxBatchSize) throw tooLarge('images', `more than ${limits.maxBatchSize} images in one request`);
      if (!image && ++fields > limits.maxFields) throw tooLarge(part.fieldname, `more than ${limits.maxFields} fields in one request`);
      if (part.valueTruncated) throw tooLarge(part.fieldname, `${part.fieldname}: a field is larger than the limit of ${limits.maxFieldBytes} bytes`);
      out.push({ kind: 'text', field: part.fieldname, value: String(part.value) });
    }
  } catch (err) {
    discardRest(request);
    throw malformed(err);
  } finally {
    raw.off('data', count);
  }
  return out;
}

/** Stops parsing and lets the rest of the upload flow into nothing, so that none of it is kept. */
function discardRest(request: FastifyRequest): void {
  request.raw.unpipe();
  request.raw.resume();
}
