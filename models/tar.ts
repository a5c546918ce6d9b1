import { gunzipSync } from 'node:zlib';

/**
 * The regular files of a gzipped tar archive (an npm package tarball), by path. Only what npm writes is
 * read: ustar headers with the prefix field, and pax extended headers, whose entries are skipped
 * because the model files Postern takes have short names.
 */
export function readTarGz(gz: Uint8Array, wanted: (path: string) => boolean): Map<string, Buffer> {
  const tar = gunzipSync(gz);
  const files = new Map<string, Buffer>();
  let at = 0;
  while (at + 512 <= tar.length) {
    const header = tar.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break;
    const size = parseOctal(header.subarray(124, 136), at);
    const type = String.fromCharCode(header[156]!);
    const name = cString(header.subarray(0, 100));
    const prefix = header.subarray(257, 262).toString('latin1') === 'ustar' ? cString(header.subarray(345, 500)) : '';
    const path = prefix ? `${prefix}/${name}` : name;
    const body = at + 512;
    if (body + size > tar.length) throw new Error(`tar: entry ${path} runs past the end of the archive`);
    if ((type === '0' || type === '\0') && wanted(path)) files.set(path, Buffer.from(tar.subarray(body, body + size)));
    at = body + Math.ceil(size / 512) * 512;
  }
  return files;
}

function cString(field: Buffer): string {
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? field.length : end).toString('utf8');
}

function parseOctal(field: Buffer, offset: number): number {
  const text = cString(field).trim();
  if (!/^[0-7]+$/.test(text)) throw new Error(`tar: bad size field "${text}" in the header at byte ${offset}`);
  return parseInt(text, 8);
}
