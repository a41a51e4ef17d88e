/**
 * Turns one client-supplied image into the exact float input a model expects ([H, W, C] in the
 * model's value range, row-major). Accepted forms: encoded bytes (PNG, JPEG, WebP, decoded by
 * sharp, converted to the model's channels and resized to its input size), base64 or a data URL
 * of those bytes, or a pixel array [H][W] / [H][W][C] already in the model's value range (taken
 * exactly, no quantisation).
 */
import sharp from 'sharp';
import { badImage, GradlabError, tooLarge } from '../errors.ts';
import type { ImageInputSpec } from '../model/manifest.ts';
import { declaredSize } from './header.ts';

export interface DecodeLimits {
  maxImageBytes: number;
  maxImagePixels: number;
}

export const SUPPORTED_MEDIA_TYPES = ['image/png', 'image/jpeg', 'image/webp'] as const;

/**
 * The pixels an encoded image (bytes, base64 or a data URL) declares in its header, or 0 for a
 * pixel array or a header that cannot be read; checks the byte limit on the way.
 */
export function declaredPixels(value: unknown, limits: DecodeLimits, field: string): { bytes?: Buffer; pixels: number } {
  const bytes = Buffer.isBuffer(value) ? value : typeof value === 'string' ? bytesFromString(value, limits, field) : undefined;
  const mediaType = bytes && sniffMediaType(bytes);
  const size = bytes && mediaType ? declaredSize(bytes, mediaType) : undefined;
  return { ...(bytes ? { bytes } : {}), pixels: size ? size.width * size.height : 0 };
}

/** Recognises PNG, JPEG and WebP by their magic bytes; undefined for anything else. */
export function sniffMediaType(bytes: Uint8Array): (typeof SUPPORTED_MEDIA_TYPES)[number] | undefined {
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) {
    return 'image/png';
  }
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (
    bytes.length >= 12 &&
    String.fromCharCode(...bytes.subarray(0, 4)) === 'RIFF' &&
    String.fromCharCode(...bytes.subarray(8, 12)) === 'WEBP'
  ) {
    return 'image/webp';
  }
  return undefined;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Decodes a base64 string or a `data:` URL into bytes, checking the size limit first. */
export function bytesFromString(text: string, limits: DecodeLimits, field: string): Buffer {
  let payload = text;
  if (text.startsWith('data:')) {
    const comma = text.indexOf(',');
    const header = comma >= 0 ? text.slice(5, comma) : '';
    if (comma < 0 || !header.endsWith(';base64')) {
      throw badImage(field, `${field}: a data URL must look like data:image/png;base64,<data>`);
    }
    const mediaType = header.slice(0, -';base64'.length).toLowerCase();
    if (mediaType && !(SUPPORTED_MEDIA_TYPES as readonly string[]).includes(mediaType)) {
      throw new GradlabError(
        'GRADLAB_UNSUPPORTED_MEDIA_TYPE',
        `${field}: media type '${mediaType}' is not supported; send ${SUPPORTED_MEDIA_TYPES.join(', ')}`,
        field,
      );
    }
    payload = text.slice(comma + 1);
  }
  payload = payload.replace(/\s+/g, '');
  if (payload.length === 0) throw badImage(field, `${field}: the image string is empty`);
  if (Math.floor((payload.length * 3) / 4) > limits.maxImageBytes) {
    throw tooLarge(field, `${field}: the image is larger than the limit of ${limits.maxImageBytes} bytes`);
  }
  if (payload.length % 4 === 1 || !BASE64.test(payload)) {
    throw badImage(field, `${field}: not valid base64 or a data URL`);
  }
  return Buffer.from(payload, 'base64');
}

/** Decodes encoded image bytes with sharp into the model's [H, W, C] float input. */
export async function decodeEncodedImage(
  bytes: Buffer,
  spec: ImageInputSpec,
  limits: DecodeLimits,
  field: string,
): Promise<Float32Array> {
  if (bytes.length > limits.maxImageBytes) {
    throw tooLarge(field, `${field}: the image is larger than the limit of ${limits.maxImageBytes} bytes`);
  }
  const mediaType = sniffMediaType(bytes);
  if (!mediaType) {
    throw new GradlabError(
      'GRADLAB_UNSUPPORTED_MEDIA_TYPE',
      `${field}: not a PNG, JPEG or WebP image`,
      field,
    );
  }
  const size = declaredSize(bytes, mediaType);
  if (size && size.width * size.height > limits.maxImagePixels) {
    throw tooLarge(field, `${field}: the image has more pixels than the limit of ${limits.maxImagePixels}`);
  }
  const [height, width, channels] = spec.shape;
  let raw: { data: Buffer; info: sharp.OutputInfo };
  try {
    let pipeline = sharp(bytes, { limitInputPixels: limits.maxImagePixels, failOn: 'error' })
      .flatten({ background: { r: 0, g: 0, b: 0 } });
    pipeline = channels === 1 ? pipeline.toColourspace('b-w') : pipeline.toColourspace('srgb');
    raw = await pipeline
      .resize(width, height, { fit: 'fill', kernel: 'lanczos3' })
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (err) {
    const message = (err as Error).message ?? String(err);
    if (/pixel limit/i.test(message)) {
      throw tooLarge(field, `${field}: the image has more pixels than the limit of ${limits.maxImagePixels}`);
    }
    const error = badImage(field, `${field}: could not decode the ${mediaType} image`);
    error.detail = message.split('\n')[0];
    throw error;
  }
  const { data, info } = raw;
  const [lo, hi] = spec.range;
  const scale = (hi - lo) / 255;
  const out = new Float32Array(height * width * channels);
  const stride = info.channels;
  for (let p = 0; p < height * width; p++) {
    for (let c = 0; c < channels; c++) {
      out[p * channels + c] = data[p * stride + Math.min(c, stride - 1)]! * scale + lo;
    }
  }
  return out;
}

/**
 * Validates a pixel array [H][W] (single-channel models) or [H][W][C] against the model's input
 * shape and value range, and flattens it exactly.
 */
export function pixelsFromArray(value: unknown[], spec: ImageInputSpec, field: string): Float32Array {
  const [height, width, channels] = spec.shape;
  const [lo, hi] = spec.range;
  const want = channels === 1 ? `[${height}][${width}] or [${height}][${width}][1]` : `[${height}][${width}][${channels}]`;
  const bad = (where: string, what: string) =>
    new GradlabError('GRADLAB_BAD_PIXELS', `${where}: ${what} (expected a pixel array ${want} in [${lo}, ${hi}])`, field);
  if (value.length !== height) throw bad(field, `has ${value.length} rows`);
  const out = new Float32Array(height * width * channels);
  let i = 0;
  for (let y = 0; y < height; y++) {
    const row = value[y];
    if (!Array.isArray(row) || row.length !== width) {
      throw bad(`${field}[${y}]`, Array.isArray(row) ? `has ${row.length} columns` : 'is not an array');
    }
    for (let x = 0; x < width; x++) {
      const cell: unknown = row[x];
      const values: unknown[] = Array.isArray(cell) ? cell : [cell];
      if (values.length !== channels || (!Array.isArray(cell) && channels !== 1)) {
        throw bad(`${field}[${y}][${x}]`, `has ${Array.isArray(cell) ? values.length : 'no'} channels`);
      }
      for (let c = 0; c < channels; c++) {
        const v = values[c];
        if (typeof v !== 'number' || !Number.isFinite(v)) {
          throw bad(`${field}[${y}][${x}]${Array.isArray(cell) ? `[${c}]` : ''}`, `${JSON.stringify(v) ?? 'undefined'} is not a finite number`);
        }
        if (v < lo || v > hi) {
          throw bad(`${field}[${y}][${x}]${Array.isArray(cell) ? `[${c}]` : ''}`, `${v} is outside the value range`);
        }
        out[i++] = v;
      }
    }
  }
  return out;
}

/** Any accepted image form → the model's float input. `field` names it in errors (`images[3]`). */
export async function toModelInput(
  value: unknown,
  spec: ImageInputSpec,
  limits: DecodeLimits,
  field: string,
): Promise<Float32Array> {
  if (Buffer.isBuffer(value)) return decodeEncodedImage(value, spec, limits, field);
  if (typeof value === 'string') return decodeEncodedImage(bytesFromString(value, limits, field), spec, limits, field);
  if (Array.isArray(value)) return pixelsFromArray(value, spec, field);
  throw badImage(field, `${field}: must be a base64 string, a data URL or a pixel array`);
}
