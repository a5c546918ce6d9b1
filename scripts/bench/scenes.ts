import * as jpeg from 'jpeg-js';
import type { RgbImage } from '../../firmware/vision/image';

/** rpicam-vid's MJPEG quality when not told otherwise (its `--quality` default), which the gate does not set. */
export const CAMERA_JPEG_QUALITY = 50;

/** A small deterministic generator, so that a scene is the same in every run and every test. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    // xorshift32
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

export interface Glow {
  x: number;
  y: number;
  radius: number;
  /** Grey levels added at the centre. */
  strength: number;
}

/** An image drawn into the scene; where `alpha` is 0 the scene shows through (a figure's outline). */
export interface Placed {
  photo: RgbImage;
  alpha?: Uint8Array;
  x: number;
  y: number;
  scale: number;
}

export interface FrameSpec {
  /** Scene light as a factor on the background (daylight drift, auto exposure): 1 is the background as made. */
  light: number;
  /** Standard deviation of the sensor noise, grey levels per pixel. */
  noise: number;
  /** A person drawn at this scale with its top-left corner here (under the same light and noise). */
  person?: Placed;
  /** Headlights: light added on top of the scene. */
  glows?: Glow[];
}

const NOISE_TABLE_BITS = 21;

/**
 * What a fixed camera at a gate sees, made up: sky, a brick wall, two gate posts and the ground, then
 * per frame a global light level, Gaussian sensor noise, and optionally a person or headlights. Frames
 * come out as JPEG (4:2:0, as rpicam-vid sends them), never touching the disk.
 */
export class GateScene {
  readonly background: Float32Array;
  private readonly noiseTable: Float32Array;
  private readonly random: () => number;

  constructor(
    readonly width = 640,
    readonly height = 480,
    seed = 7,
    private readonly quality = CAMERA_JPEG_QUALITY,
  ) {
    this.random = seededRandom(seed);
    this.background = makeBackground(width, height, this.random);
    // Gaussian values (Box-Muller), read from a random place per frame: fresh noise without 900k logs per frame.
    this.noiseTable = new Float32Array(1 << NOISE_TABLE_BITS);
    for (let i = 0; i < this.noiseTable.length; i += 2) {
      const u = Math.max(this.random(), 1e-12);
      const v = this.random();
      const r = Math.sqrt(-2 * Math.log(u));
      this.noiseTable[i] = r * Math.cos(2 * Math.PI * v);
      this.noiseTable[i + 1] = r * Math.sin(2 * Math.PI * v);
    }
  }

  /** One frame as RGBA pixels (jpeg-js's input). */
  pixels(spec: FrameSpec): Uint8Array {
    const { width: w, height: h, background: bg } = this;
    const out = new Uint8Array(w * h * 4);
    const mask = this.noiseTable.length - 1;
    let k = Math.floor(this.random() * this.noiseTable.length);
    const p = spec.person;
    const glows = spec.glows ?? [];
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = y * w + x;
        let src: ArrayLike<number> = bg;
        let si = i * 3;
        if (p) {
          const px = Math.floor((x - p.x) / p.scale);
          const py = Math.floor((y - p.y) / p.scale);
          if (px >= 0 && py >= 0 && px < p.photo.width && py < p.photo.height && (!p.alpha || p.alpha[py * p.photo.width + px])) {
            src = p.photo.data;
            si = (py * p.photo.width + px) * 3;
          }
        }
        let glow = 0;
        for (const g of glows) {
          const d2 = (x - g.x) ** 2 + (y - g.y) ** 2;
          glow += g.strength * Math.exp(-d2 / (2 * g.radius * g.radius));
        }
        for (let c = 0; c < 3; c++) {
          const v = src[si + c]! * spec.light + glow + spec.noise * this.noiseTable[k++ & mask]!;
          out[i * 4 + c] = v < 0 ? 0 : v > 255 ? 255 : v;
        }
        out[i * 4 + 3] = 255;
      }
    }
    return out;
  }

  frame(spec: FrameSpec): Buffer {
    const data = this.pixels(spec);
    try {
      return Buffer.from(jpeg.encode({ width: this.width, height: this.height, data }, this.quality).data);
    } finally {
      data.fill(0);
    }
  }

  /** Where a photo drawn at `scale` is centred in the frame. */
  centred(photo: RgbImage, scale: number, alpha?: Uint8Array): Placed {
    return { photo, scale, x: Math.floor((this.width - photo.width * scale) / 2), y: Math.floor((this.height - photo.height * scale) / 2), ...(alpha ? { alpha } : {}) };
  }
}

/**
 * Someone seen from behind: dark hair, shoulders and a coat, no face to find. Sized for a frame of the
 * given height (about two thirds of it).
 */
export function figureFromBehind(frameHeight: number): { photo: RgbImage; alpha: Uint8Array } {
  const h = Math.round(frameHeight * 0.7);
  const w = Math.round(h * 0.5);
  const data = new Uint8Array(w * h * 3);
  const alpha = new Uint8Array(w * h);
  const headR = w * 0.2;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const dx = x - w / 2;
      const head = dx * dx + (y - headR * 1.3) ** 2 <= headR * headR * 1.3;
      const body = y > headR * 2.4 && Math.abs(dx) <= w * 0.5 * Math.min(1, (y - headR * 2.4) / (h * 0.1) + 0.55);
      if (!head && !body) continue;
      alpha[i] = 1;
      const [r, g, b] = head ? [45, 35, 30] : [55, 60, 85];
      data[i * 3] = r;
      data[i * 3 + 1] = g;
      data[i * 3 + 2] = b;
    }
  }
  return { photo: { width: w, height: h, data }, alpha };
}

function makeBackground(w: number, h: number, random: () => number): Float32Array {
  const bg = new Float32Array(w * h * 3);
  const skyEnd = Math.floor(h * 0.3);
  const groundStart = Math.floor(h * 0.75);
  const brickW = Math.max(8, Math.round(w / 12));
  const brickH = Math.max(4, Math.round(h / 20));
  const brickShade = Array.from({ length: 400 }, () => 0.8 + 0.4 * random());
  const set = (i: number, r: number, g: number, b: number) => {
    bg[i * 3] = r;
    bg[i * 3 + 1] = g;
    bg[i * 3 + 2] = b;
  };
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (y < skyEnd) {
        const t = y / skyEnd;
        set(i, 150 + 30 * t, 170 + 25 * t, 200 + 10 * t);
      } else if (y < groundStart) {
        const row = Math.floor((y - skyEnd) / brickH);
        const offset = row % 2 ? brickW / 2 : 0;
        const col = Math.floor((x + offset) / brickW);
        const mortar = (y - skyEnd) % brickH < 2 || (x + offset) % brickW < 2;
        const shade = brickShade[(row * 31 + col * 7) % brickShade.length]!;
        if (mortar) set(i, 170, 165, 155);
        else set(i, 140 * shade, 70 * shade, 50 * shade);
      } else {
        const t = (y - groundStart) / (h - groundStart);
        set(i, 90 - 20 * t, 90 - 20 * t, 95 - 20 * t);
      }
      // Gate posts.
      if (y >= skyEnd - h * 0.1 && (Math.abs(x - w * 0.15) < w * 0.03 || Math.abs(x - w * 0.85) < w * 0.03)) set(i, 45, 45, 50);
    }
  }
  return bg;
}
