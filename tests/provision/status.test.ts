import { join } from 'node:path';
import { run } from '../../scripts/cli/status';
import { startDaemon, type StartedDaemon } from '../helpers/daemon';
import { waitFor } from './helpers/supervisor';

async function status(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(args, { out: (l) => out.push(l), err: (l) => err.push(l), env: {} });
  return { code, out, err };
}

describe('postern status against the real daemon', () => {
  let daemon: StartedDaemon;
  beforeAll(async () => {
    daemon = await startDaemon();
  });
  afterAll(async () => daemon.stop());

  it('shows mode, door, alarms, methods, cloud link, outbox, store counts and the last events', async () => {
    // The reader reports its health once the PN532 (emulated) has answered.
    await waitFor('the card method', async () => (await daemon.state()).methods.card === 'ok');
    await daemon.setInput('tamper', true);
    await daemon.waitForEvent((e) => e.type === 'tamper');
    const socket = join(daemon.dataDir, 'admin.sock');
    const r = await status(['--socket', socket, '--events', '3']);
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    const text = r.out.join('\n');
    expect(r.out.slice(0, 7)).toEqual([
      'gate      sim-site/sim-gate',
      'mode      normal',
      'door      relay locked, door closed',
      'alarms    tamper',
      expect.stringMatching(/^methods   .*card ok/),
      'cloud     disabled, 0 events waiting to be sent',
      'store     0 residents (0 active), 0 cards, 0 face templates, credentials v0',
    ]);
    expect(text).toMatch(/^key       [A-Za-z0-9+/]{43}=$/m);
    expect(text).toContain('events    last 3:');
    expect(r.out.filter((l) => l.startsWith('  ')).length).toBe(3);
    expect(text).toMatch(/tamper/);
  });

  it('gives the raw answer with --json, and says where it looked when the gate is not there', async () => {
    const json = await status(['--bench', daemon.benchUrl, '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.out.join('\n'))).toMatchObject({ door: { relay: 'locked' }, cloud: { link: 'disabled', outboxDepth: 0 } });
    const missing = await status(['--socket', join(daemon.dir, 'nope.sock')]);
    expect(missing.code).toBe(3);
    expect(missing.err.join('\n')).toContain('is the gate daemon running?');
  });
});
