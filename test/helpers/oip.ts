/**
 * Open Inference Protocol v2 requests built by hand from the specification, as tritonclient
 * builds them (its default is the binary tensor extension), and the answers read back the same
 * way: nothing here uses gradlab's own code, so a test that passes speaks the protocol as written.
 */

export interface OipTensor {
  name: string;
  datatype: string;
  shape: number[];
  data?: unknown;
  parameters?: Record<string, unknown>;
}

/** A binary-extension body: JSON header, then each input's bytes; returns the headers to send. */
export function binaryBody(header: Record<string, unknown>, inputs: Buffer[]): { body: Buffer; headers: Record<string, string> } {
  const json = Buffer.from(JSON.stringify(header));
  return {
    body: Buffer.concat([json, ...inputs]),
    headers: { 'inference-header-content-length': String(json.length), 'content-type': 'application/octet-stream' },
  };
}

export function float32Le(values: ArrayLike<number>): Buffer {
  const b = Buffer.alloc(values.length * 4);
  for (let i = 0; i < values.length; i++) b.writeFloatLE(values[i]!, i * 4);
  return b;
}

/** BYTES elements: 4-byte little-endian length, then the bytes. */
export function bytesElements(items: Buffer[]): Buffer {
  return Buffer.concat(
    items.flatMap((item) => {
      const n = Buffer.alloc(4);
      n.writeUInt32LE(item.length);
      return [n, item];
    }),
  );
}

export interface OipAnswer {
  header: { model_name: string; model_version?: string; id?: string; outputs: OipTensor[] };
  /** Output name → its values (numbers for FP32, strings for BYTES), from JSON or binary. */
  values: Map<string, number[] | string[]>;
}

/** Reads a JSON or binary-extension answer. */
export function readAnswer(body: Buffer, headerLength: string | null): OipAnswer {
  const n = headerLength === null ? body.length : Number(headerLength);
  const header = JSON.parse(body.subarray(0, n).toString()) as OipAnswer['header'];
  const values = new Map<string, number[] | string[]>();
  let at = n;
  for (const out of header.outputs) {
    const size = out.parameters?.binary_data_size as number | undefined;
    if (size === undefined) {
      values.set(out.name, (out.data as unknown[]).flat(Infinity) as number[] | string[]);
      continue;
    }
    const bytes = body.subarray(at, at + size);
    at += size;
    if (out.datatype === 'FP32') values.set(out.name, Array.from({ length: size / 4 }, (_, i) => bytes.readFloatLE(i * 4)));
    else {
      const strings: string[] = [];
      for (let p = 0; p < bytes.length;) {
        const len = bytes.readUInt32LE(p);
        strings.push(bytes.subarray(p + 4, p + 4 + len).toString());
        p += 4 + len;
      }
      values.set(out.name, strings);
    }
  }
  return { header, values };
}
