/**
 * Job payloads through Redis: JSON, with each Float32Array (the decoded inputs, an IG baseline)
 * stored as base64 of its bytes, so that the worker gets exactly the floats the API decoded.
 */
const F32 = '__f32';

export function encodeJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (v instanceof Float32Array ? { [F32]: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') } : v));
}

export function decodeJson<T>(text: string): T {
  return JSON.parse(text, (_key, v: unknown) => {
    if (v && typeof v === 'object' && F32 in v && typeof (v as Record<string, unknown>)[F32] === 'string') {
      const bytes = Buffer.from((v as Record<string, string>)[F32]!, 'base64');
      // A fresh, aligned buffer: the worker thread may take it over (transfer).
      const out = new Float32Array(bytes.byteLength / 4);
      new Uint8Array(out.buffer).set(bytes);
      return out;
    }
    return v;
  }) as T;
}
