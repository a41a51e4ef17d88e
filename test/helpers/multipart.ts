/** Multipart/form-data bodies for tests, written by hand so that tests can send what no client library would. */

export const BOUNDARY = 'gradlab-test-boundary';

export function textPart(name: string, value: string): string {
  return `--${BOUNDARY}\r\ncontent-disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
}

export function filePart(name: string, bytes: Buffer, type = 'image/png'): Buffer {
  return Buffer.concat([
    Buffer.from(`--${BOUNDARY}\r\ncontent-disposition: form-data; name="${name}"; filename="x.png"\r\ncontent-type: ${type}\r\n\r\n`),
    bytes,
    Buffer.from('\r\n'),
  ]);
}

export const CLOSE = `--${BOUNDARY}--\r\n`;
export const MULTIPART_TYPE = `multipart/form-data; boundary=${BOUNDARY}`;

/** A PNG whose header declares width × height pixels, followed by no real image data. */
export function pngDeclaring(width: number, height: number): Buffer {
  const header = Buffer.alloc(33);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(header, 0);
  header.writeUInt32BE(13, 8);
  header.write('IHDR', 12, 'latin1');
  header.writeUInt32BE(width, 16);
  header.writeUInt32BE(height, 20);
  header.set([8, 0, 0, 0, 0], 24); // 8-bit greyscale
  return header;
}
