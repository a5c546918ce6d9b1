import { applySimilarity, canonicalFor, CANONICAL_112, fitSimilarity } from '../../firmware/vision/align';
import { blazeFaceAnchors, decodeBlazeFace } from '../../firmware/vision/blazeface';
import { chooseFace } from '../../firmware/vision/choose-face';
import { faceSchema } from '../../firmware/vision/config';
import { confirmVotes } from '../../firmware/vision/confirm';
import type { FaceDetection } from '../../firmware/vision/geometry';
import { judgeMatch, l2Normalise, TemplateIndex } from '../../firmware/vision/matcher';
import { judgeQuality, measurePose, type FaceMeasures } from '../../firmware/vision/quality';

const unit = (...v: number[]) => l2Normalise(Float32Array.from(v));

describe('1:N matcher', () => {
  test('finds the best and second-best template by cosine', () => {
    const index = new TemplateIndex(3, 10, 1);
    index.upsert('a', unit(1, 0, 0));
    index.upsert('b', unit(0, 1, 0));
    index.upsert('c', unit(1, 1, 0));
    const r = index.search(unit(1, 0.1, 0));
    expect(r.best?.id).toBe('a');
    expect(r.best?.score).toBeCloseTo(0.995, 3);
    expect(r.secondScore).toBeCloseTo(Math.SQRT1_2 * (1.1 / Math.hypot(1, 0.1)), 3);
  });

  test('re-enrolment replaces; removal moves the last row into the hole and zeroes the vacated row', () => {
    const index = new TemplateIndex(2, 10, 1);
    index.upsert('a', unit(1, 0));
    index.upsert('b', unit(0, 1));
    index.upsert('a', unit(-1, 0));
    expect(index.size).toBe(2);
    expect(index.search(unit(-1, 0)).best).toEqual({ id: 'a', score: expect.closeTo(1, 6) });
    expect(index.remove('a')).toBe(true);
    expect(index.remove('a')).toBe(false);
    expect(index.search(unit(-1, 0)).best?.id).toBe('b');
    // Two dimensions pad to a 16-byte row: row 1 (b's old place) is all zero, only b's 127 is left.
    const rows = (index as unknown as { rows: Int8Array }).rows;
    expect([...rows.subarray(16, 32)].every((x) => x === 0)).toBe(true);
    expect([...rows].filter((x) => x !== 0)).toEqual([127]);
  });

  test('int8 scores stay within 0.003 of the exact cosine and pick the same best template, across growth from one row', () => {
    let seed = 11;
    const gauss = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const u = (seed + 1) / 2 ** 31;
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return Math.sqrt(-2 * Math.log(u)) * Math.cos((2 * Math.PI * seed) / 2 ** 31);
    };
    const vec = () => l2Normalise(Float32Array.from({ length: 512 }, gauss));
    const templates = Array.from({ length: 1500 }, vec);
    const index = new TemplateIndex(512, 100_000, 1);
    templates.forEach((t, i) => index.upsert(`r${i}`, t));
    for (let k = 0; k < 20; k++) {
      // A probe near template k (same person, another photo) and the exact cosines to every template.
      const probe = l2Normalise(templates[k * 71]!.map((v) => v + 0.05 * gauss()));
      const exact = templates.map((t) => t.reduce((s, v, i) => s + v * probe[i]!, 0)).sort((a, b) => b - a);
      const r = index.search(probe);
      expect(r.best?.id).toBe(`r${k * 71}`);
      expect(Math.abs(r.best!.score - exact[0]!)).toBeLessThan(0.003);
      expect(Math.abs(r.secondScore! - exact[1]!)).toBeLessThan(0.003);
    }
    const scratch = index as unknown as { query: Int16Array; out: Int32Array };
    expect(scratch.query.every((x) => x === 0) && scratch.out.every((x) => x === 0)).toBe(true);
  });

  test('refuses a wrong dimension and a full index, naming the limit', () => {
    const index = new TemplateIndex(2, 1);
    expect(() => index.upsert('a', unit(1, 0, 0))).toThrow('3 dimensions, the matcher uses 2');
    index.upsert('a', unit(1, 0));
    expect(() => index.upsert('b', unit(0, 1))).toThrow('matcher is full: 1 templates');
  });

  test('threshold and margin rule', () => {
    const rule = { threshold: 0.5, margin: 0.1 };
    expect(judgeMatch({ best: null, secondScore: null }, rule)).toEqual({ matched: false, reason: 'no-templates', score: null });
    expect(judgeMatch({ best: { id: 'a', score: 0.49 }, secondScore: null }, rule)).toMatchObject({ matched: false, reason: 'below-threshold' });
    expect(judgeMatch({ best: { id: 'a', score: 0.7 }, secondScore: 0.65 }, rule)).toMatchObject({ matched: false, reason: 'ambiguous' });
    expect(judgeMatch({ best: { id: 'a', score: 0.7 }, secondScore: 0.55 }, rule)).toEqual({ matched: true, residentId: 'a', score: 0.7 });
    expect(judgeMatch({ best: { id: 'a', score: 0.5 }, secondScore: null }, rule)).toMatchObject({ matched: true });
  });
});

describe('k-of-n confirmation', () => {
  test('one frame is never enough when k is 2', () => {
    expect(confirmVotes(['a'], 2, 3)).toEqual({ outcome: 'pending' });
    expect(confirmVotes(['a', null], 2, 3)).toEqual({ outcome: 'pending' });
    expect(confirmVotes(['a', null, 'a'], 2, 3)).toEqual({ outcome: 'match', residentId: 'a' });
  });

  test('only the last n votes count, and a full window without k agreeing votes is a no-match', () => {
    expect(confirmVotes(['a', 'a', null, 'b', null], 2, 3)).toEqual({ outcome: 'no-match' });
    expect(confirmVotes(['a', 'b', null], 2, 3)).toEqual({ outcome: 'no-match' });
    expect(confirmVotes([null, null, null], 1, 3)).toEqual({ outcome: 'no-match' });
  });

  test('rejects k > n', () => {
    expect(() => confirmVotes([], 3, 2)).toThrow('1 <= k <= n');
  });
});

describe('alignment', () => {
  test('fits a known similarity exactly and maps the template onto the landmarks', () => {
    const t = { a: 1.5 * Math.cos(0.3), b: 1.5 * Math.sin(0.3), tx: 40, ty: -12 };
    const from = CANONICAL_112;
    const to = from.map((p) => applySimilarity(t, p));
    const fit = fitSimilarity(from, to);
    expect(fit.a).toBeCloseTo(t.a, 9);
    expect(fit.b).toBeCloseTo(t.b, 9);
    expect(fit.tx).toBeCloseTo(t.tx, 9);
    expect(fit.ty).toBeCloseTo(t.ty, 9);
  });

  test('canonical points scale with the crop and its padding', () => {
    const p = canonicalFor({ size: 224, padding: 0 });
    expect(p[0]!.x).toBeCloseTo(CANONICAL_112[0]!.x * 2, 9);
    const padded = canonicalFor({ size: 112, padding: 0.25 });
    expect(padded[0]!.x).toBeCloseTo((CANONICAL_112[0]!.x + 28) / 1.5, 9);
  });

  test('refuses coincident points', () => {
    const p = { x: 1, y: 1 };
    expect(() => fitSimilarity([p, p], [p, { x: 2, y: 2 }])).toThrow('coincide');
  });
});

describe('quality gate and face choice', () => {
  const frontal = CANONICAL_112.map((p) => ({ x: p.x * 2, y: p.y * 2 }));
  const good: FaceMeasures = { ...measurePose(frontal), sharpness: 100, meshScore: 0.99 };
  const limits = { minEyeDistancePx: 18, maxAbsYaw: 0.45, pitchRange: [0.25, 0.85] as const, minSharpness: 20, minMeshScore: 0.5 };

  test('the frontal template passes; each failure names itself', () => {
    expect(good.yaw).toBeCloseTo(0, 1);
    expect(good.pitch).toBeCloseTo(0.49, 1);
    expect(judgeQuality(good, limits)).toEqual({ ok: true });
    expect(judgeQuality({ ...good, meshScore: 0.1 }, limits)).toMatchObject({ ok: false, reason: 'not-a-face' });
    expect(judgeQuality({ ...good, eyeDistancePx: 10 }, limits)).toMatchObject({ ok: false, reason: 'too-small' });
    expect(judgeQuality({ ...good, sharpness: 5 }, limits)).toMatchObject({ ok: false, reason: 'blurry' });
    const turned = measurePose(frontal.map((p, i) => (i === 2 ? { x: p.x + 40, y: p.y } : p)));
    expect(judgeQuality({ ...good, ...turned }, limits)).toMatchObject({ ok: false, reason: 'turned-away' });
  });

  test('the largest face wins, off-centre faces counting for less', () => {
    const face = (x: number, y: number, size: number): FaceDetection => ({
      box: { x, y, width: size, height: size },
      score: 0.9,
      landmarks: { leftEye: { x, y }, rightEye: { x, y }, nose: { x, y }, mouth: { x, y } },
    });
    const central = face(270, 190, 100);
    expect(chooseFace([face(0, 0, 80), central], 640, 480)).toBe(central);
    // A corner face counts for about half its area: 50 px there loses to 40 px in the middle, 80 px wins.
    expect(chooseFace([face(0, 0, 50), face(300, 220, 40)], 640, 480)!.box.width).toBe(40);
    expect(chooseFace([face(0, 0, 80), face(300, 220, 40)], 640, 480)!.box.width).toBe(80);
    expect(chooseFace([], 640, 480)).toBeUndefined();
  });
});

describe('BlazeFace decoding', () => {
  test('anchors: 512 on the 16x16 grid then 384 on the 8x8 grid', () => {
    const a = blazeFaceAnchors(256);
    expect(a.length).toBe(896 * 2);
    expect([a[0], a[1], a[2], a[3]]).toEqual([8, 8, 8, 8]);
    expect([a[1024], a[1025]]).toEqual([16, 16]);
  });

  test('decodes boxes and keypoints relative to anchors, scaled to the frame, with overlaps suppressed', () => {
    const anchors = blazeFaceAnchors(256);
    const raw = new Float32Array(896 * 17).fill(-10);
    const put = (i: number, score: number, dx: number) => {
      raw.set([score, dx, 0, 40, 40, -10, -5, 10, -5, 0, 5, 0, 12, 0, 0, 0, 0], i * 17);
    };
    put(100, 3, 0);
    put(101, 2, 2); // same place, lower score: suppressed
    const faces = decodeBlazeFace(raw, anchors, { minScore: 0.5, iouThreshold: 0.3, scale: 2 });
    expect(faces).toHaveLength(1);
    const ax = anchors[200]!;
    const ay = anchors[201]!;
    expect(faces[0]!.box).toEqual({ x: (ax - 20) * 2, y: (ay - 20) * 2, width: 80, height: 80 });
    expect(faces[0]!.landmarks.leftEye).toEqual({ x: (ax - 10) * 2, y: (ay - 5) * 2 });
    expect(faces[0]!.score).toBeCloseTo(1 / (1 + Math.exp(-3)), 6);
    expect(() => decodeBlazeFace(new Float32Array(5), anchors, { minScore: 0.5, iouThreshold: 0.3, scale: 1 })).toThrow('expected 15232');
  });
});

describe('face config', () => {
  test('an empty section gives working defaults', () => {
    const c = faceSchema.parse(undefined);
    expect(c.camera.source).toBe('auto');
    expect(c.match.confirmK).toBeLessThanOrEqual(c.match.confirmN);
  });

  test('errors name the key, the bad value and what is allowed', () => {
    const issue = (input: unknown) => {
      const r = faceSchema.safeParse(input);
      if (r.success) throw new Error('expected a failure');
      return `${r.error.issues[0]!.path.join('.')}: ${r.error.issues[0]!.message}`;
    };
    expect(issue({ camera: { rotate: 45 } })).toBe('camera.rotate: must be 0, 90, 180 or 270');
    expect(issue({ camera: { source: 'directory' } })).toContain('camera.path: source "directory" needs a path');
    expect(issue({ match: { threshold: 3 } })).toContain('match.threshold: must be at most 1');
    expect(issue({ match: { confirmK: 4, confirmN: 3 } })).toContain('confirmK must not exceed confirmN');
    expect(issue({ camera: { fps: 3 } })).toContain('fps');
  });
});
