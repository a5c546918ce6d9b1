import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

/** A decoded frame: 8-bit RGB, row-major, no padding. Lives in memory only (red line 4). */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

export type ImageKind = 'jpeg' | 'png';

const MAX_PIXELS = 4096 * 4096;

/** Sniffs the container from its magic bytes; the declared content type is only cross-checked. */
export function imageKind(bytes: Uint8Array): ImageKind | undefined {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'png';
  return undefined;
}

export function decodeImage(bytes: Uint8Array, contentType?: string): RgbImage {
  const kind = imageKind(bytes);
  if (!kind) throw new Error(`image: not a JPEG or PNG (${bytes.length} bytes, first bytes ${Buffer.from(bytes.subarray(0, 4)).toString('hex')})`);
  if (contentType !== undefined) {
    const declared = contentType.split(';')[0]?.trim().toLowerCase();
    if (declared !== `image/${kind}`) throw new Error(`image: content type ${contentType} but the bytes are ${kind}; send image/jpeg or image/png`);
  }
  if (kind === 'jpeg') {
    const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, maxResolutionInMP: MAX_PIXELS / 1e6, maxMemoryUsageInMB: 256 });
    return { width: img.width, height: img.height, data: img.data };
  }
  const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  if (png.width * png.height > MAX_PIXELS) throw new Error(`image: ${png.width}x${png.height} is larger than 4096x4096`);
  const rgb = new Uint8Array(png.width * png.height * 3);
  for (let i = 0, j = 0; j < rgb.length; i += 4, j += 3) {
    rgb[j] = png.data[i]!;
    rgb[j + 1] = png.data[i + 1]!;
    rgb[j + 2] = png.data[i + 2]!;
  }
  png.data.fill(0);
  return { width: png.width, height: png.height, data: rgb };
}

/** Rotates by a quarter turn clockwise; for cameras mounted sideways (config `camera.rotate`). */
export function rotateQuarter(img: RgbImage, turns: 0 | 1 | 2 | 3): RgbImage {
  if (turns === 0) return img;
  const { width: w, height: h, data } = img;
  const ow = turns === 2 ? w : h;
  const oh = turns === 2 ? h : w;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let ox: number;
      let oy: number;
      if (turns === 1) [ox, oy] = [h - 1 - y, x];
      else if (turns === 2) [ox, oy] = [w - 1 - x, h - 1 - y];
      else [ox, oy] = [y, w - 1 - x];
      const s = (y * w + x) * 3;
      const d = (oy * ow + ox) * 3;
      out[d] = data[s]!;
      out[d + 1] = data[s + 1]!;
      out[d + 2] = data[s + 2]!;
    }
  }
  return { width: ow, height: oh, data: out };
}
