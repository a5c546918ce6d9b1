import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { APP_DIR } from './app';
import { query, type Executor } from './executor';

export const UNIT_NAME = 'postern.service';
export const UNIT_PATH = `/etc/systemd/system/${UNIT_NAME}`;
export const WANTS_LINK = `/etc/systemd/system/multi-user.target.wants/${UNIT_NAME}`;
export const CLI_PATH = '/usr/local/bin/postern';
const ROOT_OWNER = { user: 'root', group: 'root' };

/** The unit from systemd/, with ExecStart pointing at the node this installer found. */
export function unitText(source: string, nodePath: string): string {
  return readFileSync(join(source, 'systemd', UNIT_NAME), 'utf8').replace(/^ExecStart=\/usr\/bin\/node /m, `ExecStart=${nodePath} `);
}

export function cliWrapper(nodePath: string): string {
  return `#!/bin/sh\n# Installed by scripts/provision: the postern operator and local admin CLI.\nexec ${nodePath} ${APP_DIR}/dist/scripts/postern.js "$@"\n`;
}

/** Writes the unit and the CLI, and enables the unit to start at boot. Returns whether the unit file changed. */
export function installService(ex: Executor, source: string, nodePath: string, staged: boolean): boolean {
  const before = ex.changes.length;
  ex.ensureFile(UNIT_PATH, unitText(source, nodePath), 0o644, ROOT_OWNER);
  const unitChanged = ex.changes.length > before;
  ex.ensureFile(CLI_PATH, cliWrapper(nodePath), 0o755, ROOT_OWNER);
  if (staged) {
    // What `systemctl enable` does, done by hand: systemctl is not for a tree that is not running.
    ex.ensureSymlink(WANTS_LINK, UNIT_PATH);
    return unitChanged;
  }
  if (unitChanged) ex.run('reload systemd units', 'systemctl', ['daemon-reload']);
  if (query('systemctl', ['is-enabled', UNIT_NAME]).stdout.trim() !== 'enabled') {
    ex.run('start the gate at boot', 'systemctl', ['enable', UNIT_NAME]);
  }
  return unitChanged;
}

export function serviceActive(): boolean {
  return query('systemctl', ['is-active', UNIT_NAME]).stdout.trim() === 'active';
}

/** Starts the service, or restarts it when anything it reads has changed. */
export function startService(ex: Executor, changed: boolean): void {
  if (!serviceActive()) ex.run('start the gate', 'systemctl', ['start', UNIT_NAME]);
  else if (changed) ex.run('restart the gate with the new installation', 'systemctl', ['restart', UNIT_NAME]);
}
