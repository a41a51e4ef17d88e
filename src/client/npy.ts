/**
 * NumPy's `.npy` format (version 1.0) for float32 arrays, so that an adversarial example can be
 * loaded exactly as the attack made it: `numpy.load('7-adversarial.npy')` → float32 [H, W, C].
 */

/** A little-endian float32 `.npy` file of `data` with `shape`. */
export function float32Npy(data: Float32Array, shape: readonly number[]): Buffer {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims}), }`;
  // Magic (6) + version (2) + header length (2) + header + '\n', padded to a multiple of 64.
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const body = Buffer.alloc(data.length * 4);
  data.forEach((v, i) => body.writeFloatLE(v, i * 4));
  return Buffer.concat([head, Buffer.from(header, 'latin1'), body]);
}

/** Reads back a float32 `.npy` written by `float32Npy` (for tests and tools). */
export function readFloat32Npy(file: Buffer): { shape: number[]; data: Float32Array } {
  if (file.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error('not a .npy file');
  const length = file.readUInt16LE(8);
  const header = file.toString('latin1', 10, 10 + length);
  if (!header.includes("'descr': '<f4'")) throw new Error('not a little-endian float32 .npy file');
  const shape = (/'shape': \(([^)]*)\)/.exec(header)?.[1] ?? '').split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const at = 10 + length;
  const data = new Float32Array((file.length - at) / 4);
  for (let i = 0; i < data.length; i++) data[i] = file.readFloatLE(at + i * 4);
  return { shape, data };
}
