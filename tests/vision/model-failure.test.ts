import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdminApi } from '../../firmware/admin/router';
import { MethodHealth } from '../../firmware/health';
import { GateStore } from '../../firmware/store/store';
import { startFaceRecognition } from '../../firmware/vision/start';
import { ModelIntegrityError } from '../../models/loader';
import { faceOptions } from '../helpers/face-options';

describe('a model that fails verification', () => {
  let dir: string;
  let server: Server;
  afterAll(() => {
    server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('leaves face degraded with the reason and enrolment answering 503; nothing else is touched', async () => {
    dir = mkdtempSync(join(tmpdir(), 'postern-face-fail-'));
    const store = GateStore.open({ dir, templateKey: randomBytes(32) });
    const health = new MethodHealth();
    const admin = new AdminApi(() => undefined);
    const presented: unknown[] = [];
    const face = startFaceRecognition(
      faceOptions({
        store,
        presentFace: (m) => presented.push(m),
        enrolTemplate: () => {
          throw new Error('must not be called');
        },
        admin,
        health,
        loadRecognizer: () => Promise.reject(new ModelIntegrityError('model fr-feature: model/fr_feature.onnx has sha256 00, manifest expects 11; refusing to load it')),
      }),
    );
    expect(face).not.toBeNull();
    expect(await face!.ready).toBeNull();
    expect(health.get('face')).toBe('degraded');

    server = createServer((req, res) => void admin.handle(req, res)).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const port = (server.address() as AddressInfo).port;
    const res = await fetch(`http://127.0.0.1:${port}/api/admin/face/enrol`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ residentId: 'r1' }) });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: string }).error).toBe(
      'face recognition is not running: model: model fr-feature: model/fr_feature.onnx has sha256 00, manifest expects 11; refusing to load it',
    );
    await face!.stop();
    expect(presented).toEqual([]);
  });

  test('face disabled by the access policy starts nothing and says so', () => {
    const health = new MethodHealth();
    const started = startFaceRecognition(faceOptions({ enabled: false, health }));
    expect(started).toBeNull();
    expect(health.get('face')).toBe('disabled');
  });
});
