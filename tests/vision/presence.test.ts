import { readFileSync } from 'node:fs';
import * as jpeg from 'jpeg-js';
import { faceSchema, presenceOptionsFrom } from '../../firmware/vision/config';
import { decodeImage } from '../../firmware/vision/image';
import { jpegLumaBlocks, type LumaBlocks } from '../../firmware/vision/jpeg-dc';
import { changedShare, MOTION_DEFAULTS, MotionDetector } from '../../firmware/vision/motion';
import { initialPresence, presenceOnAnalysis, presenceOnFrame, type PresenceState } from '../../firmware/vision/presence';
import { PresenceGate, type PresenceOptions } from '../../firmware/vision/presence-gate';
import { figureFromBehind, GateScene, seededRandom } from '../../scripts/bench/scenes';
import { fixture } from '../helpers/fixtures';

const photo = (rel: string) => readFileSync(fixture(`faces/${rel}`));
const T = { heartbeatMs: 10_000, quietMs: 2000 };

/** Runs frames through the state machine at 10 fps; returns the indices of the frames analysed in full. */
function analysedFrames(moves: (boolean | null)[], state: PresenceState = initialPresence(0)): { analysed: number[]; state: PresenceState } {
  const analysed: number[] = [];
  moves.forEach((moved, i) => {
    const verdict = presenceOnFrame(state, { now: i * 100, moved }, T);
    state = verdict.state;
    if (verdict.analyse) analysed.push(i);
  });
  return { analysed, state };
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe('presence state machine (pure)', () => {
  test('a new worker analyses every frame until the scene has been still for quietMs, then only one per heartbeat', () => {
    const { analysed, state } = analysedFrames(Array(250).fill(false));
    // Frames 0-19 (0-1.9 s) while it learns the scene; at 2 s idle; the next heartbeat 10 s after the last analysis.
    expect(analysed).toEqual([...range(0, 20), 119, 219]);
    expect(state).toMatchObject({ mode: 'idle', reason: 'quiet' });
  });

  test('the frame that moved is itself analysed, and every frame after it until quietMs after the last motion', () => {
    const moves = Array(100).fill(false);
    moves[40] = true;
    moves[45] = true;
    const { analysed } = analysedFrames(moves);
    expect(analysed).toEqual([...range(0, 20), ...range(40, 65)]);
  });

  test('a face found on a heartbeat frame wakes the gate; a face keeps it awake without motion', () => {
    let state = analysedFrames(Array(30).fill(false)).state;
    expect(state.mode).toBe('idle');
    const beat = presenceOnFrame(state, { now: 11_900, moved: false }, T);
    expect(beat.analyse).toBe(true);
    state = presenceOnAnalysis(beat.state, true, 11_950);
    expect(state).toMatchObject({ mode: 'active', reason: 'face' });
    // Still, but the face is still there: active as long as faces keep coming.
    for (let now = 12_000; now < 20_000; now += 100) {
      const v = presenceOnFrame(state, { now, moved: false }, T);
      expect(v.analyse).toBe(true);
      state = presenceOnAnalysis(v.state, true, now);
    }
    const gone = presenceOnFrame(state, { now: 22_000, moved: false }, T);
    expect(gone).toMatchObject({ analyse: false, state: { mode: 'idle', reason: 'quiet' } });
    // A frame analysed without a face changes nothing.
    expect(presenceOnAnalysis(gone.state, false, 22_050)).toEqual(gone.state);
  });

  test('a wake-up from outside (an enrolment) and an unreadable frame are analysed at once, with the reason', () => {
    const idle = analysedFrames(Array(30).fill(false)).state;
    expect(presenceOnFrame(idle, { now: 3100, moved: false, wake: 'enrol' }, T)).toMatchObject({ analyse: true, state: { mode: 'active', reason: 'enrol' } });
    expect(presenceOnFrame(idle, { now: 3100, moved: null }, T)).toMatchObject({ analyse: true, state: { mode: 'active', reason: 'unreadable' } });
    // Already active: the reason it woke up stays.
    const active = presenceOnFrame(idle, { now: 3100, moved: true }, T).state;
    expect(presenceOnFrame(active, { now: 3200, moved: null }, T).state.reason).toBe('motion');
  });
});

describe('motion against the background', () => {
  const blocks = (data: number[] | Uint8Array, width = 10): LumaBlocks => ({ width, height: data.length / width, data: Uint8Array.from(data) });
  const random = seededRandom(3);
  const scene = Array.from({ length: 400 }, () => 30 + Math.floor(random() * 180));

  test('a global change of light (gain and offset) and sensor noise change no block; a person in a tenth of the frame does', () => {
    const bg = Float32Array.from(scene);
    expect(changedShare(bg, Uint8Array.from(scene.map((v) => Math.min(255, v * 1.15 + 6))), 10)).toBe(0);
    expect(changedShare(bg, Uint8Array.from(scene.map((v) => v + Math.round((random() - 0.5) * 6))), 10)).toBe(0);
    const person = Uint8Array.from(scene.map((v, i) => (i < 40 ? (v + 60) % 256 : v)));
    expect(changedShare(bg, person, 10)).toBeCloseTo(0.1, 2);
  });

  test('a dark scene (night) takes the light change as an offset', () => {
    const dark = scene.map((v) => Math.floor(v / 12));
    expect(changedShare(Float32Array.from(dark), Uint8Array.from(dark.map((v) => v + 8)), 10)).toBe(0);
  });

  test('no background, a new frame size or a gap in the frames: nothing to compare with; someone standing still becomes background', () => {
    const m = new MotionDetector(MOTION_DEFAULTS);
    expect(m.observe(blocks(scene), 0)).toBeNull();
    expect(m.observe(blocks(scene), 100)).toBe(0);
    expect(m.observe(blocks(scene.slice(0, 200)), 200)).toBeNull();
    expect(m.observe(blocks(scene.slice(0, 200)), 200 + MOTION_DEFAULTS.maxGapMs + 1)).toBeNull();
    const withPerson = scene.slice(0, 200).map((v, i) => (i < 50 ? (v + 80) % 256 : v));
    const shares: number[] = [];
    for (let t = 1; t <= 60; t++) shares.push(m.observe(blocks(withPerson), 2300 + t * 100)!);
    expect(shares[0]).toBeCloseTo(0.25, 2);
    expect(shares[59]).toBe(0); // 6 s later, part of the scene
  });
});

describe('JPEG luma blocks from the DC coefficients', () => {
  /** Mean luma of each whole 8x8 block of the full decode, for comparison. */
  function fullDecodeMeans(bytes: Buffer): { width: number; means: (number | undefined)[] } {
    const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false });
    const width = Math.ceil(img.width / 8);
    const means: (number | undefined)[] = [];
    for (let by = 0; by < Math.ceil(img.height / 8); by++) {
      for (let bx = 0; bx < width; bx++) {
        if ((by + 1) * 8 > img.height || (bx + 1) * 8 > img.width) {
          means.push(undefined); // a partial block is padded by the encoder: not comparable
          continue;
        }
        let sum = 0;
        for (let y = by * 8; y < by * 8 + 8; y++) for (let x = bx * 8; x < bx * 8 + 8; x++) {
          const i = (y * img.width + x) * 3;
          sum += 0.299 * img.data[i]! + 0.587 * img.data[i + 1]! + 0.114 * img.data[i + 2]!;
        }
        means.push(sum / 64);
      }
    }
    return { width, means };
  }

  test.each([
    ['4:2:0, as cameras send', 'lfw/Aaron_Peirsol_0001.jpg', 19, 19],
    ['4:4:4 with restart markers', 'face_recognition/obama.jpg', 114, 143],
    ['4:4:4 with restart markers, odd width', 'face_recognition/obama2.jpg', 79, 150],
    ['4:4:4, partial last row', 'non-face/rocket.jpg', 80, 54],
  ])('match the full decode within 2 grey levels (%s: %s)', (_what, rel, width, height) => {
    const bytes = photo(rel);
    const blocks = jpegLumaBlocks(bytes);
    expect([blocks.width, blocks.height]).toEqual([width, height]);
    const { means } = fullDecodeMeans(bytes);
    let compared = 0;
    means.forEach((m, i) => {
      if (m === undefined) return;
      expect(Math.abs(blocks.data[i]! - m)).toBeLessThan(2);
      compared++;
    });
    expect(compared).toBeGreaterThan(width * height * 0.85);
  });

  test('a progressive JPEG or garbage is refused with the reason', () => {
    expect(() => jpegLumaBlocks(photo('face_recognition/obama1.jpg'))).toThrow('progressive');
    expect(() => jpegLumaBlocks(Buffer.from([0xff, 0xd8, 0xff, 0xc4, 0x00]))).toThrow('jpeg:');
    expect(() => jpegLumaBlocks(photo('non-face/brick.png'))).toThrow('no SOI');
  });
});

describe('presence gate on generated camera frames (which frames get the full analysis)', () => {
  const OPTIONS: PresenceOptions = { heartbeatMs: 10_000, quietMs: 1000, motionThreshold: 0.01 };
  /** jpeg-js takes ~50 ms of CPU per frame made here, much more on a busy machine. */
  const SLOW = 180_000;
  const scene = new GateScene(320, 240, 11);
  const face = decodeImage(photo('lfw/Aaron_Peirsol_0001.jpg'));
  const back = figureFromBehind(scene.height);
  /** A light drift of ±5% and sensor noise, as an empty gate looks by day. */
  const day = (i: number) => ({ light: 0.95 + 0.1 * ((i % 40) < 20 ? i % 20 : 20 - (i % 20)) / 20, noise: 3 });

  function run(frames: Buffer[]): { analysed: number[]; modes: string[] } {
    const gate = new PresenceGate(OPTIONS, 0);
    const analysed: number[] = [];
    const modes: string[] = [];
    frames.forEach((bytes, i) => {
      if (gate.look(bytes, 'image/jpeg', i * 100)) analysed.push(i);
      modes.push(gate.report.mode);
    });
    gate.dispose();
    return { analysed, modes };
  }

  test('an empty scene with noise and light drift stays idle; the first frame with a person is analysed', () => {
    const frames = range(0, 40).map((i) => scene.frame({ ...day(i), ...(i >= 30 ? { person: scene.centred(face, 1) } : {}) }));
    const { analysed, modes } = run(frames);
    expect(analysed).toEqual([...range(0, 10), ...range(30, 40)]);
    expect(modes[29]).toBe('idle');
    expect(modes[30]).toBe('active');
  }, SLOW);

  test('someone who arrives and stands still with their back to the camera wakes it, then it goes idle again', () => {
    const frames = range(0, 80).map((i) => scene.frame({ ...day(i), ...(i >= 20 ? { person: scene.centred(back.photo, 1, back.alpha) } : {}) }));
    const { analysed, modes } = run(frames);
    expect(analysed[10]).toBe(20);
    expect(modes[19]).toBe('idle');
    expect(modes[20]).toBe('active');
    expect(modes[79]).toBe('idle');
  }, SLOW);

  test('headlights sweeping across a night scene wake it; it is idle again after the quiet period', () => {
    const frames = range(0, 50).map((i) => {
      const sweep = i >= 20 && i < 30 ? [{ x: 20 + (i - 20) * 30, y: 170, radius: 20, strength: 230 }] : [];
      return scene.frame({ light: 0.24, noise: 6, glows: sweep });
    });
    const { analysed, modes } = run(frames);
    expect(modes[19]).toBe('idle');
    expect(analysed).toContain(20);
    expect(modes.slice(20, 30).every((m) => m === 'active')).toBe(true);
    expect(modes[49]).toBe('idle');
  }, SLOW);

  test('frames it cannot read cheaply (PNG, progressive JPEG) are always analysed', () => {
    const gate = new PresenceGate(OPTIONS, 0);
    const png = photo('non-face/brick.png');
    const progressive = photo('face_recognition/obama1.jpg');
    for (let i = 0; i < 40; i++) expect(gate.look(i % 2 ? png : progressive, i % 2 ? 'image/png' : 'image/jpeg', i * 100)).toBe(true);
    expect(gate.report).toEqual({ mode: 'active', reason: 'start' });
  });
});

describe('face.presence config', () => {
  test('defaults, and off means no gate for the worker', () => {
    const c = faceSchema.parse({});
    expect(c.presence).toEqual({ enabled: true, heartbeatMs: 30_000, quietMs: 5000, motionThreshold: 0.01 });
    expect(presenceOptionsFrom(c)).toEqual({ heartbeatMs: 30_000, quietMs: 5000, motionThreshold: 0.01 });
    expect(presenceOptionsFrom(faceSchema.parse({ presence: { enabled: false } }))).toBeNull();
  });

  test('bad values are refused with the key and what is allowed', () => {
    const problems = (presence: unknown) => {
      const r = faceSchema.safeParse({ presence });
      if (r.success) throw new Error('accepted');
      return r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    expect(problems({ heartbeatMs: 50 })).toEqual(['presence.heartbeatMs: must be at least 100 ms']);
    expect(problems({ motionThreshold: 2 })).toEqual(['presence.motionThreshold: must be at most 1 (share of the 8x8 blocks that changed)']);
    expect(problems({ enabled: 'yes' })).toEqual(['presence.enabled: must be true or false']);
    expect(problems({ gpioPin: 4 })[0]).toContain('gpioPin');
  });
});
