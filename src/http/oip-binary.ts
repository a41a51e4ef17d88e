/**
 * The Open Inference Protocol's binary tensor extension (Triton's `binary_data`, tritonclient's
 * default): a body is a JSON header of `Inference-Header-Content-Length` bytes followed by the raw
 * tensors, each input naming its share with `parameters.binary_data_size`, in input order. This
 * file splits such a body, reads tensors out of it (little-endian numbers; BYTES as 4-byte
 * length-prefixed elements) and writes the answer the same way. It knows nothing of models:
 * `oip-request.ts` turns tensors into images.
 */
import { badParameter, GradlabError } from '../errors.ts';

export const HEADER_LENGTH = 'inference-header-content-length';

/** Bytes per element of the numeric OIP datatypes gradlab reads; BYTES is variable. */
export const ELEMENT_BYTES: Record<string, number> = { FP32: 4, FP64: 8, UINT8: 1 };

/** The parsed JSON header and what follows it (empty for a JSON-only body). */
export interface SplitBody {
  header: unknown;
  binary: Buffer;
}

function badBody(message: string): GradlabError {
  return new GradlabError('GRADLAB_BAD_REQUEST', message);
}

/**
 * Splits a request body into its JSON header and the binary part. Without the header-length
 * header the whole body is JSON. Throws 400 naming the header when the length does not fit.
 */
export function splitBody(body: Buffer, headerLength: string | string[] | undefined): SplitBody {
  let jsonLength = body.length;
  if (headerLength !== undefined) {
    const text = Array.isArray(headerLength) ? headerLength[0] : headerLength;
    const n = Number(text);
    if (!/^\d+$/.test(text ?? '') || n > body.length || n === 0) {
      throw badParameter(HEADER_LENGTH, `must be the length in bytes of the JSON header, at most the body's ${body.length} bytes (got '${text}')`);
    }
    jsonLength = n;
  }
  if (jsonLength === 0) throw badBody('the body is empty: send the inference request as JSON');
  let header: unknown;
  try {
    header = JSON.parse(body.subarray(0, jsonLength).toString('utf8'));
  } catch {
    throw badBody(headerLength === undefined ? 'the body is not valid JSON (binary tensors need the Inference-Header-Content-Length header)' : 'the JSON header is not valid JSON');
  }
  return { header, binary: body.subarray(jsonLength) };
}

/** Hands out consecutive slices of the binary part, as inputs claim them in order. */
export class BinaryCursor {
  private at = 0;
  constructor(private readonly binary: Buffer) {}

  take(size: number, field: string): Buffer {
    if (!Number.isInteger(size) || size < 0) throw badParameter(field, `must be a whole number of bytes (got ${String(size)})`);
    if (this.at + size > this.binary.length) {
      throw badParameter(field, `claims ${size} bytes but only ${this.binary.length - this.at} follow the JSON header`);
    }
    const slice = this.binary.subarray(this.at, this.at + size);
    this.at += size;
    return slice;
  }

  /** Every byte must belong to some input: trailing bytes mean the sizes were wrong. */
  finish(): void {
    if (this.at !== this.binary.length) {
      throw badBody(`${this.binary.length - this.at} bytes after the JSON header belong to no input (check binary_data_size)`);
    }
  }
}

/** Little-endian numbers of an OIP numeric datatype → float64 values (exact for FP32 and UINT8). */
export function readNumbers(bytes: Buffer, datatype: string, field: string): Float64Array {
  const size = ELEMENT_BYTES[datatype];
  if (size === undefined) throw badParameter(field, `datatype ${datatype} cannot carry pixels; use FP32, FP64, UINT8 or BYTES`);
  if (bytes.length % size !== 0) throw badParameter(field, `${bytes.length} bytes are not a whole number of ${datatype} elements`);
  const out = new Float64Array(bytes.length / size);
  for (let i = 0; i < out.length; i++) {
    out[i] = datatype === 'FP32' ? bytes.readFloatLE(i * 4) : datatype === 'FP64' ? bytes.readDoubleLE(i * 8) : bytes[i]!;
  }
  return out;
}

/** BYTES elements: each a 4-byte little-endian length and that many bytes. */
export function readByteElements(bytes: Buffer, field: string): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (at + 4 > bytes.length) throw badParameter(field, `element ${out.length} has a cut-off length prefix`);
    const length = bytes.readUInt32LE(at);
    if (at + 4 + length > bytes.length) throw badParameter(field, `element ${out.length} claims ${length} bytes but ${bytes.length - at - 4} remain`);
    out.push(bytes.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return out;
}

/** float32 values as little-endian bytes. */
export function fp32Bytes(values: ArrayLike<number>): Buffer {
  const out = Buffer.alloc(values.length * 4);
  for (let i = 0; i < values.length; i++) out.writeFloatLE(values[i]!, i * 4);
  return out;
}

/** Strings as BYTES elements (length-prefixed UTF-8). */
export function byteElements(strings: string[]): Buffer {
  return Buffer.concat(
    strings.flatMap((s) => {
      const text = Buffer.from(s, 'utf8');
      const length = Buffer.alloc(4);
      length.writeUInt32LE(text.length);
      return [length, text];
    }),
  );
}

/** A response body: the JSON header, then the binary outputs in order; returns the header's length too. */
export function joinBody(header: unknown, binary: Buffer[]): { body: Buffer; headerLength: number } {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  return { body: Buffer.concat([json, ...binary]), headerLength: json.length };
}
