import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultDataDir, loadConfig } from '../../firmware/config/load';
import { REPO_ROOT, startDaemon } from '../helpers/daemon';

describe('where a gate keeps its data', () => {
  test('with no dataDir the folder is the checkout\'s own, whatever the working directory or config file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'postern-cfg-'));
    const cwd = process.cwd();
    try {
      writeFileSync(join(dir, 'c.json'), JSON.stringify({ door: { pulseMs: 3000 } }));
      process.chdir(dir);
      expect(loadConfig(undefined).dataDir).toBe(join(REPO_ROOT, '.postern-sim'));
      expect(loadConfig(join(dir, 'c.json')).dataDir).toBe(join(REPO_ROOT, '.postern-sim'));
      expect(defaultDataDir()).toBe(join(REPO_ROOT, '.postern-sim'));
    } finally {
      process.chdir(cwd);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the banner says where the data is, why there, and when the start created an empty gate', async () => {
    const first = await startDaemon();
    const dir = first.dir;
    try {
      expect(first.stderr()).toContain(`data:   ${join(dir, 'data')} (dataDir "data", relative to the config file's folder)`);
      expect(first.stderr()).toMatch(/store: {2}NEW — empty store and new gate keys created \(0 residents, 0 cards, 0 face templates\)/);
      expect((await first.post('/api/admin/residents', { id: 'r-1' })).status).toBe(200);
      await first.stop(true);
      const second = await startDaemon({ dir });
      try {
        expect(second.stderr()).toMatch(/store: {2}1 residents, 0 cards, 0 face templates\n/);
        expect(second.stderr()).not.toContain('NEW');
      } finally {
        await second.stop(true);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
