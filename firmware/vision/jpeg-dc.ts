/**
 * The mean brightness of every 8x8 luma block of a JPEG, read from the DC coefficients: a 1/8-scale
 * grey thumbnail (80x60 for a 640x480 frame) without the inverse DCT, the upsampling or the colour
 * conversion. The entropy-coded data must still be walked to find each block's DC, but with a lookup
 * table instead of jpeg-js's bit-by-bit tree that costs a few per cent of a full decode: cheap enough to
 * look at every frame of an empty scene (presence gating, docs/BENCHMARKS.md).
 *
 * Baseline and extended sequential Huffman JPEGs with 8-bit samples, which is what rpicam-vid's MJPEG
 * and every camera stream is; progressive, arithmetic-coded and lossless files throw (the caller treats
 * such a frame as one it cannot judge cheaply).
 */
export interface LumaBlocks {
  /** Blocks across and down: ceil(luma width / 8) x ceil(luma height / 8). */
  readonly width: number;
  readonly height: number;
  /** Mean luma of each block, 0-255, row-major. In memory only, like the frame it came from. */
  readonly data: Uint8Array;
}

interface Component {
  id: number;
  h: number;
  v: number;
  tq: number;
}

/** Huffman tables by their DHT bytes: a camera sends the same tables in every frame, so each is built once. */
const TABLE_CACHE = new Map<string, Uint16Array>();
const TABLE_CACHE_MAX = 16;

/**
 * A 16-bit lookahead table: entry = code length << 8 | symbol for every 16-bit word starting with that
 * code, 0 where no code starts (a corrupt stream).
 */
function lookupTable(counts: Uint8Array, symbols: Uint8Array): Uint16Array {
  const key = Buffer.from(counts).toString('latin1') + Buffer.from(symbols).toString('latin1');
  const cached = TABLE_CACHE.get(key);
  if (cached) return cached;
  const table = new Uint16Array(65536);
  let code = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    for (let i = 0; i < counts[len - 1]!; i++) {
      const shift = 16 - len;
      const start = code << shift;
      if (start + (1 << shift) > 65536) throw new Error('jpeg: Huffman table overflows its code space');
      table.fill((len << 8) | symbols[k++]!, start, start + (1 << shift));
      code++;
    }
    code <<= 1;
  }
  if (TABLE_CACHE.size >= TABLE_CACHE_MAX) TABLE_CACHE.delete(TABLE_CACHE.keys().next().value!);
  TABLE_CACHE.set(key, table);
  return table;
}

const u16 = (b: Uint8Array, i: number) => (b[i]! << 8) | b[i + 1]!;

export function jpegLumaBlocks(bytes: Uint8Array): LumaBlocks {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) throw new Error('jpeg: no SOI marker');
  const dcTables: (Uint16Array | undefined)[] = [];
  const acTables: (Uint16Array | undefined)[] = [];
  const dcQuant: number[] = [];
  let components: Component[] = [];
  let width = 0;
  let height = 0;
  let restartInterval = 0;
  let pos = 2;
  while (pos + 4 <= bytes.length) {
    if (bytes[pos] !== 0xff) throw new Error(`jpeg: expected a marker at byte ${pos}`);
    const marker = bytes[pos + 1]!;
    if (marker === 0xff) {
      pos++; // fill byte
      continue;
    }
    const length = u16(bytes, pos + 2);
    const seg = pos + 4;
    const end = pos + 2 + length;
    if (end > bytes.length) throw new Error('jpeg: truncated segment');
    if (marker === 0xc0 || marker === 0xc1) {
      if (bytes[seg] !== 8) throw new Error(`jpeg: ${bytes[seg]}-bit samples are not supported`);
      height = u16(bytes, seg + 1);
      width = u16(bytes, seg + 3);
      components = [];
      for (let i = 0, p = seg + 6; i < bytes[seg + 5]!; i++, p += 3) components.push({ id: bytes[p]!, h: bytes[p + 1]! >> 4, v: bytes[p + 1]! & 15, tq: bytes[p + 2]! });
      if (width === 0 || height === 0 || components.length === 0) throw new Error('jpeg: empty frame header');
    } else if ((marker >= 0xc2 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc)) {
      throw new Error(`jpeg: SOF marker 0x${marker.toString(16)} (progressive, lossless or arithmetic) is not supported`);
    } else if (marker === 0xc4) {
      for (let p = seg; p < end; ) {
        const tc = bytes[p]! >> 4;
        const th = bytes[p]! & 15;
        const counts = bytes.subarray(p + 1, p + 17);
        const n = counts.reduce((s, c) => s + c, 0);
        const table = lookupTable(counts, bytes.subarray(p + 17, p + 17 + n));
        (tc === 0 ? dcTables : acTables)[th] = table;
        p += 17 + n;
      }
    } else if (marker === 0xdb) {
      for (let p = seg; p < end; ) {
        const wide = bytes[p]! >> 4;
        dcQuant[bytes[p]! & 15] = wide ? u16(bytes, p + 1) : bytes[p + 1]!;
        p += 1 + (wide ? 128 : 64);
      }
    } else if (marker === 0xdd) {
      restartInterval = u16(bytes, seg);
    } else if (marker === 0xda) {
      if (components.length === 0) throw new Error('jpeg: scan before the frame header');
      const scan: { comp: Component; dc: Uint16Array; ac: Uint16Array }[] = [];
      for (let i = 0, p = seg + 1; i < bytes[seg]!; i++, p += 2) {
        const comp = components.find((c) => c.id === bytes[p]);
        const dc = dcTables[bytes[p + 1]! >> 4];
        const ac = acTables[bytes[p + 1]! & 15];
        if (!comp || !dc || !ac) throw new Error('jpeg: scan names a component or Huffman table that was not defined');
        scan.push({ comp, dc, ac });
      }
      // Only the scan holding luma matters; in a baseline file that is the first one.
      if (scan[0]!.comp !== components[0]) throw new Error('jpeg: the first scan does not hold the luma component');
      const q = dcQuant[components[0]!.tq];
      if (q === undefined) throw new Error('jpeg: luma quantisation table missing');
      return decodeScan(bytes, end, width, height, components, scan, restartInterval, q);
    } else if (marker === 0xd9) {
      break;
    }
    pos = end;
  }
  throw new Error('jpeg: no scan');
}

function decodeScan(
  data: Uint8Array,
  start: number,
  width: number,
  height: number,
  components: Component[],
  scan: { comp: Component; dc: Uint16Array; ac: Uint16Array }[],
  restartInterval: number,
  q: number,
): LumaBlocks {
  const hMax = Math.max(...components.map((c) => c.h));
  const vMax = Math.max(...components.map((c) => c.v));
  const luma = components[0]!;
  const outW = Math.ceil(Math.ceil((width * luma.h) / hMax) / 8);
  const outH = Math.ceil(Math.ceil((height * luma.v) / vMax) / 8);
  const out = new Uint8Array(outW * outH);
  // One component alone in a scan is coded block by block, without MCU padding (T.81 A.2.2).
  const interleaved = scan.length > 1;
  const mcusX = interleaved ? Math.ceil(width / (8 * hMax)) : outW;
  const mcusY = interleaved ? Math.ceil(height / (8 * vMax)) : outH;
  const pred = new Int32Array(scan.length);
  // Block layout of one MCU, flattened: which scan component, and for luma the block offset within the MCU.
  const slots: { s: number; bx: number; by: number }[] = [];
  scan.forEach((c, s) => {
    const bh = interleaved ? c.comp.h : 1;
    const bv = interleaved ? c.comp.v : 1;
    for (let by = 0; by < bv; by++) for (let bx = 0; bx < bh; bx++) slots.push({ s, bx, by });
  });
  const lumaH = interleaved ? luma.h : 1;
  const lumaV = interleaved ? luma.v : 1;
  const scale = q / 8;

  let pos = start;
  let acc = 0;
  let n = 0;
  // Keeps 17-24 bits ready; a marker (0xFF not followed by a stuffed 0) feeds zeros and stays put.
  const fill = () => {
    while (n <= 16) {
      let b = 0;
      if (pos < data.length) {
        b = data[pos]!;
        if (b === 0xff) {
          const next = data[pos + 1];
          if (next === 0) pos += 2;
          else b = 0;
        } else pos++;
      }
      acc = (acc << 8) | b;
      n += 8;
    }
  };
  const symbol = (table: Uint16Array): number => {
    if (n < 16) fill();
    const e = table[(acc >>> (n - 16)) & 0xffff]!;
    if (e === 0) throw new Error('jpeg: invalid Huffman code');
    n -= e >> 8;
    return e & 0xff;
  };
  const bits = (s: number): number => {
    if (n < s) fill();
    n -= s;
    return (acc >>> n) & ((1 << s) - 1);
  };

  const total = mcusX * mcusY;
  for (let m = 0; m < total; m++) {
    if (restartInterval > 0 && m > 0 && m % restartInterval === 0) {
      // Byte-align to the RSTn marker and start the predictions again.
      n = 0;
      while (pos + 1 < data.length && !(data[pos] === 0xff && data[pos + 1]! >= 0xd0 && data[pos + 1]! <= 0xd7)) pos++;
      pos += 2;
      pred.fill(0);
    }
    const mx = m % mcusX;
    const my = (m - mx) / mcusX;
    for (const slot of slots) {
      const c = scan[slot.s]!;
      const t = symbol(c.dc);
      let diff = 0;
      if (t > 0) {
        diff = bits(t);
        if (diff < 1 << (t - 1)) diff -= (1 << t) - 1;
      }
      const dc = (pred[slot.s]! += diff);
      // The AC coefficients are only skipped: symbol and value bits consumed in one step (the hot loop).
      const ac = c.ac;
      for (let k = 1; k < 64; ) {
        if (n < 16) fill();
        const e = ac[(acc >>> (n - 16)) & 0xffff]!;
        if (e === 0) throw new Error('jpeg: invalid Huffman code');
        n -= e >> 8;
        const s = e & 15;
        if (s === 0) {
          if ((e & 0xff) !== 0xf0) break; // end of block
          k += 16;
        } else {
          k += ((e >> 4) & 15) + 1;
          if (n < s) fill();
          n -= s;
        }
      }
      if (slot.s === 0) {
        const x = mx * lumaH + slot.bx;
        const y = my * lumaV + slot.by;
        // DC is 8x the block mean of the level-shifted samples.
        if (x < outW && y < outH) out[y * outW + x] = Math.max(0, Math.min(255, Math.round(dc * scale + 128)));
      }
    }
  }
  return { width: outW, height: outH, data: out };
}
