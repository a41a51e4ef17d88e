/**
 * Pulls the images and the other parameters out of a request, whatever its form: JSON
 * (`image` or `images`: base64, data URLs, pixel arrays) or multipart/form-data (one or several
 * files in fields `image`/`images`, other fields as text). Shared by every route that takes
 * images; decoding itself is the core's job (`src/images/decode.ts`).
 */
import type { FastifyRequest } from 'fastify';
import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler, ValueErrorType, type TypeCheck, type ValueError } from '@sinclair/typebox/compiler';
import { badImage, badParameter, GradlabError, tooLarge } from '../errors.ts';
import { readMultipartParts, type MultipartLimits } from './multipart-body.ts';

export interface RawImage {
  /** Encoded bytes, a base64/data-URL string, or a pixel array. */
  value: unknown;
  /** The request field, for error messages: `image`, `images[2]`. */
  field: string;
}

export interface ImageRequest<P> {
  images: RawImage[];
  /** True when the client sent a batch (`images`, or several files). */
  batch: boolean;
  params: P;
}

const IMAGE_FIELDS = new Set(['image', 'images']);

/** Text fields of a multipart form become JSON values where they parse as such (`5`, `true`, `[1,2]`). */
function coerceField(text: string): unknown {
  const trimmed = text.trim();
  if (/^(-?\d+(\.\d+)?([eE][-+]?\d+)?|true|false|null|\[.*\]|\{.*\})$/s.test(trimmed)) {
    try {
      return JSON.parse(trimmed);
    } catch {
      return text;
    }
  }
  return text;
}

const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>();

/** The literal values a schema accepts, when it is a union of literals (a method name, a norm). */
function literalValues(schema: TSchema | undefined): unknown[] | undefined {
  const members = (schema as { anyOf?: { const?: unknown }[] } | undefined)?.anyOf;
  if (!members?.length || !members.every((m) => 'const' in m)) return undefined;
  return members.map((m) => m.const);
}

/** A TypeBox error in words a client can act on: the allowed values, or why a field is unknown. */
function problemText(error: ValueError, field: string): string {
  const allowed = literalValues(error.schema);
  if (allowed) return `must be one of ${allowed.join(', ')} (got ${JSON.stringify(error.value)})`;
  if (error.type === ValueErrorType.ObjectAdditionalProperties) {
    if (field === 'sequence') return "is not a field of an image route: sequences are scored by a sequence model's /score route";
    return 'is not a known field';
  }
  return error.message.toLowerCase();
}

/** Validates parameters with a TypeBox schema; the first problem becomes a 400 naming the field. */
export function checkParams<P>(schema: TSchema, params: unknown): P {
  let check = compiled.get(schema);
  if (!check) {
    check = TypeCompiler.Compile(schema);
    compiled.set(schema, check);
  }
  if (check.Check(params)) return params as P;
  const first = check.Errors(params).First();
  const field = first?.path.replace(/^\//, '').replace(/\//g, '.') || 'body';
  throw badParameter(field, first ? problemText(first, field) : 'is invalid');
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The configured request limits, for reading multipart bodies (set by app.ts). */
    requestLimits: MultipartLimits;
  }
}

/** Reads a multipart request: image files plus text fields, within the body, field and image limits. */
async function readMultipart(request: FastifyRequest): Promise<{ files: RawImage[]; fields: Record<string, unknown> }> {
  const files: RawImage[] = [];
  const fields: Record<string, unknown> = {};
  const parts = await readMultipartParts(request, request.server.requestLimits, (field) => IMAGE_FIELDS.has(field));
  for (const part of parts) {
    if (IMAGE_FIELDS.has(part.field)) files.push({ value: part.value, field: `images[${files.length}]` });
    else fields[part.field] = coerceField(part.value as string);
  }
  return { files, fields };
}

/**
 * Extracts images and validated parameters. `schema` describes the non-image parameters
 * (it must not mention `image`/`images`). Throws 400/413 GradlabErrors naming the field.
 */
export async function readImageRequest<P>(request: FastifyRequest, schema: TSchema, maxImages: number): Promise<ImageRequest<P>> {
  if (request.isMultipart()) {
    const { files, fields } = await readMultipart(request);
    if (files.length === 0) throw badImage('image', "no image: send a file in the multipart field 'image'");
    const params = checkParams<P>(schema, fields);
    if (files.length === 1) files[0]!.field = 'image';
    return { images: files, batch: files.length > 1, params };
  }
  const body = request.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new GradlabError('GRADLAB_BAD_REQUEST', 'the body must be a JSON object with image or images');
  }
  const { image, images, ...rest } = body as Record<string, unknown>;
  if (image !== undefined && images !== undefined) {
    throw badParameter('images', "send either 'image' or 'images', not both");
  }
  const params = checkParams<P>(schema, rest);
  if (images !== undefined) {
    if (!Array.isArray(images) || images.length === 0) throw badParameter('images', 'must be a non-empty array of images');
    if (images.length > maxImages) throw tooLarge('images', `images: ${images.length} images is more than the limit of ${maxImages}`);
    return { images: images.map((value: unknown, i) => ({ value, field: `images[${i}]` })), batch: true, params };
  }
  if (image === undefined || image === null) throw badImage('image', "no image: send 'image' or 'images'");
  return { images: [{ value: image, field: 'image' }], batch: false, params };
}
