/**
 * The defender's view of black-box traffic: one entry per answered classify request, with the
 * time, the key, the model, the number of images and the label predicted for each. Image bytes
 * are not kept unless asked for (`--query-log images`), and then only as 8-bit pixels, enough to
 * spot an attack's tell-tale stream of near-identical queries.
 */

export const QUERY_LOG_MODES = ['off', 'labels', 'images'] as const;
export type QueryLogMode = (typeof QUERY_LOG_MODES)[number];

export interface QueryLogEntry {
  /** Milliseconds since the epoch. */
  time: number;
  keyId: string;
  keyName: string;
  model: string;
  count: number;
  /** The top label answered for each image. */
  labels: string[];
  /** With `images` logging: [H, W, C] and the images as 8-bit pixels, one after another. */
  shape?: [number, number, number];
  pixels?: Uint8Array;
}

export interface QueryLog {
  record(entry: QueryLogEntry): void;
  /** Entries in time order, optionally for one key (by id or name) and from a time on. */
  entries(filter?: { key?: string; since?: number }): QueryLogEntry[];
}

/** A model input in [lo, hi] → 8-bit levels (what a PNG would keep). */
export function toBytes(pixels: ArrayLike<number>, range: [number, number]): Uint8Array {
  const [lo, hi] = range;
  const out = new Uint8Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) out[i] = Math.round(Math.min(1, Math.max(0, (pixels[i]! - lo) / (hi - lo))) * 255);
  return out;
}
