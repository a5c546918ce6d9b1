import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { AdminApi, parseBody } from '../../firmware/admin/router';

/**
 * How the admin router reads bodies, on the socket and the bench alike: only JSON, and a route that
 * needs a body never runs on defaults because the body was missing, unreadable or of another type.
 */

let server: Server;
let port: number;
const created: unknown[] = [];

beforeAll(async () => {
  const api = new AdminApi(() => undefined);
  api.route('POST', '/things', (req) => {
    const thing = parseBody(z.strictObject({ id: z.string().optional() }), req.body);
    created.push(thing);
    return { thing };
  });
  api.route('POST', '/things/:id/revoke', (req) => ({ revoked: req.params.id }));
  server = createServer((req, res) => void api.handle(req, res)).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => server.close());
beforeEach(() => (created.length = 0));

function post(path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: `/api/admin${path}`, headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('a body of another type is 415 naming it, and the route does not run', async () => {
  expect(await post('/things', { 'content-type': 'application/x-www-form-urlencoded' }, '{bad')).toEqual({
    status: 415,
    body: { error: 'content-type application/x-www-form-urlencoded is not accepted here: send application/json' },
  });
  expect((await post('/things', { 'content-type': 'text/plain' }, '{"id":"x"}')).status).toBe(415);
  expect((await post('/things', {}, '{"id":"x"}')).body.error).toBe('content-type (none) is not accepted here: send application/json');
  expect(created).toEqual([]);
});

test('JSON that does not parse, null, or no body at all is 400 and creates nothing', async () => {
  expect(await post('/things', { 'content-type': 'application/json' }, '{bad')).toMatchObject({ status: 400, body: { error: expect.stringMatching(/^the body is not valid JSON/) } });
  expect((await post('/things', { 'content-type': 'application/json' }, 'null')).status).toBe(400);
  expect(await post('/things', { 'content-type': 'application/json' })).toMatchObject({ status: 400, body: { error: expect.stringContaining('needs a JSON object body') } });
  expect(await post('/things', {})).toMatchObject({ status: 400 });
  expect(created).toEqual([]);
});

test('a JSON object (with a charset) is taken; a route that reads no body needs none', async () => {
  expect(await post('/things', { 'content-type': 'application/json; charset=utf-8' }, '{}')).toEqual({ status: 200, body: { thing: {} } });
  expect(await post('/things/t-1/revoke', {})).toEqual({ status: 200, body: { revoked: 't-1' } });
  expect(created).toHaveLength(1);
});
