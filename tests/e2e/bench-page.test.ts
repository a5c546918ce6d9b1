import { runInNewContext } from 'node:vm';
import { PNG } from 'pngjs';
import { BENCH_PAGE } from '../../firmware/bench/page';
import { startDaemon, type StartedDaemon } from '../helpers/daemon';

/**
 * The bench page's own script, run against the real daemon: its buttons must still work now that the
 * bench refuses bodies that are not JSON (or an image on the camera). A tiny stand-in DOM records what
 * the script writes; its fetch goes to the daemon with the headers a browser adds on the page's origin.
 */

interface FakeElement {
  textContent: string;
  value: string;
  dataset: Record<string, string>;
  files: unknown[];
  onclick?: () => unknown;
  onchange?: () => unknown;
  [key: string]: unknown;
}

function fakeElement(dataset: Record<string, string> = {}): FakeElement {
  return {
    textContent: '',
    value: '',
    innerHTML: '',
    className: '',
    dataset,
    files: [],
    children: [],
    classList: { toggle: () => undefined },
    appendChild: () => undefined,
    prepend: () => undefined,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let gate: StartedDaemon;
const elements = new Map<string, FakeElement>();
const element = (id: string): FakeElement => {
  if (!elements.has(id)) elements.set(id, fakeElement());
  return elements.get(id)!;
};
const exitButton = fakeElement({ input: 'exit' });
const contactToggle = fakeElement({ toggle: 'contact' });
const requests: { path: string; contentType: string; status: number }[] = [];

beforeAll(async () => {
  gate = await startDaemon({ config: { access: { methods: ['card', 'face'] }, door: { pulseMs: 800, forcedGraceMs: 0 } }, readyTimeoutMs: 60_000 });
  const script = /<script>([\s\S]*)<\/script>/.exec(BENCH_PAGE)![1]!;
  const page = {
    document: {
      getElementById: element,
      querySelectorAll: (selector: string) => (selector === '[data-input]' ? [exitButton] : selector === '[data-toggle]' ? [contactToggle] : []),
      createElement: () => fakeElement(),
    },
    fetch: async (path: string, init: { method: string; headers: Record<string, string>; body: BodyInit }) => {
      const res = await fetch(gate.benchUrl + path, { ...init, headers: { ...init.headers, origin: gate.benchUrl, 'sec-fetch-site': 'same-origin' } });
      requests.push({ path, contentType: init.headers['content-type'] ?? '', status: res.status });
      return res;
    },
    EventSource: class {
      addEventListener(): void {}
    },
    URL: { createObjectURL: () => 'blob:frame' },
    setTimeout,
    JSON,
    Object,
  };
  runInNewContext(script, page);
}, 90_000);
afterAll(() => gate?.stop());

beforeEach(() => {
  element('result').textContent = 'pending';
  requests.length = 0;
});

test('"Press exit button" sends a JSON pulse that opens the door', async () => {
  const events = await gate.events();
  const since = events.length ? events[events.length - 1]!.seq : 0;
  await exitButton.onclick!();
  expect(requests).toEqual([{ path: '/api/sim/input', contentType: 'application/json', status: 200 }]);
  expect(element('result').textContent).toBe('');
  await gate.waitForEvent((e) => e.seq > since && e.type === 'door.unlocked' && e.reason === 'exit-button', 10_000);
  await gate.waitForEvent((e) => e.seq > since && e.type === 'door.locked' && e.reason === 'pulse-ended', 15_000);
});

test('"Open / close door" and "Tap card" send JSON and are accepted', async () => {
  contactToggle.onclick!();
  await gate.waitForEvent((e) => e.type === 'door.forced', 10_000);
  contactToggle.onclick!();
  element('uid').value = '04A1B2C3D4E5F6';
  await element('tap').onclick!();
  await gate.waitForEvent((e) => e.type === 'card.presented', 10_000);
  for (let i = 0; i < 100 && requests.length < 3; i++) await sleep(20);
  expect(requests.map((r) => [r.path, r.contentType, r.status])).toEqual([
    ['/api/sim/input', 'application/json', 200],
    ['/api/sim/input', 'application/json', 200],
    ['/api/sim/nfc', 'application/json', 200],
  ]);
  expect(element('result').textContent).toBe('');
});

test('the camera picker uploads a PNG as image/png, and refuses a file that is not an image before sending it', async () => {
  const png = PNG.sync.write(new PNG({ width: 8, height: 8 }));
  const bytes = png.buffer.slice(png.byteOffset, png.byteOffset + png.length);
  element('frame').files = [{ name: 'face.png', type: 'image/png', arrayBuffer: async () => bytes }];
  await element('frame').onchange!();
  expect(requests).toEqual([{ path: '/api/sim/camera', contentType: 'image/png', status: 200 }]);
  expect(element('result').textContent).toBe('');

  element('frame').files = [{ name: 'notes.txt', type: '', arrayBuffer: async () => new ArrayBuffer(4) }];
  await element('frame').onchange!();
  expect(requests).toHaveLength(1);
  expect(element('result').textContent).toBe('notes.txt is not a JPEG or PNG');
});

test('the camera route itself takes only image/jpeg or image/png', async () => {
  const res = await gate.post('/api/sim/camera', JSON.stringify({ frame: 'x' }), 'application/json');
  expect(res).toEqual({ status: 415, body: { error: 'content-type application/json is not accepted here: send image/jpeg or image/png' } });
  expect((await gate.post('/api/sim/camera', 'x', 'text/plain')).status).toBe(415);
});
