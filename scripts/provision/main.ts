import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from '../../firmware/config/load';
import { HostAccounts, SERVICE_USER, StagedAccounts } from './accounts';
import { APP_DIR, checkSourceTree, installApp } from './app';
import { buildConfig, CA_PATH, CONFIG_PATH, DATA_DIR, existingSettings, PASSWORD_PATH, type GateSettings } from './config-file';
import { Executor } from './executor';
import { checkSiteKeyImport, ensureKeys, gatePublicKey, KEYS_DIR, readOperatorKey, readPublicKey, readSiteKeyImport } from './keys';
import { parseOptions, UsageError, USAGE, type ProvisionOptions } from './options';
import { passwordProblem } from './passwords';
import { ask } from './prompt';
import { enableInterfaces } from './raspi';
import { installService, serviceActive, startService, UNIT_NAME } from './service';
import { nodeVersionProblem, osProblem, parseOsRelease } from './system-checks';

const ROOT_OWNER = { user: 'root', group: 'root' };
const SERVICE_GROUP_OWNER = { user: 'root', group: SERVICE_USER };
const SERVICE_OWNER = { user: SERVICE_USER, group: SERVICE_USER };
const ID = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export const EXIT = { ok: 0, selftestFailed: 1, refused: 2, failed: 3 } as const;

function readJson(path: string): Record<string, unknown> {
  if (!existsSync(path)) return {};
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new UsageError(`${path} exists but is not valid JSON (${(err as Error).message}); fix or move it, nothing was changed`);
  }
}

function readInput(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new UsageError(`cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

function firstLine(path: string, what: string): string {
  return readInput(path, what).toString('utf8').split('\n')[0]!;
}

interface Resolved {
  settings: GateSettings;
  password?: string;
  ca?: Buffer;
  siteKey?: Uint8Array;
}

/** Every value the installer needs, checked before anything is changed. */
async function resolveSettings(o: ProvisionOptions, at: (p: string) => string, existing: Record<string, unknown>): Promise<Resolved> {
  const prior = existingSettings(existing);
  const pick = async (flag: string | undefined, old: string | undefined, question: string, allowEmpty = false): Promise<string> => {
    if (flag !== undefined) return flag;
    if (old !== undefined) return old;
    if (o.interactive) return ask(question);
    if (allowEmpty) return '';
    throw new UsageError(`${question.replace(/[:?].*$/, '')} is needed: pass it as a flag (see --help)`);
  };
  const site = await pick(o.site, prior.site, 'Site id (--site): ');
  const gate = await pick(o.gate, prior.gate, 'Gate id (--gate): ');
  for (const [flag, v] of [['--site', site], ['--gate', gate]] as const) {
    if (!ID.test(v)) throw new UsageError(`${flag} "${v}": use 1-64 characters of a-z, 0-9, "-" or "_", starting with a letter or digit`);
  }
  let brokerUrl = await pick(o.broker, prior.brokerUrl, 'Broker URL, e.g. mqtts://broker.example:8883 (--broker; empty for none): ', true);
  if (brokerUrl === 'none') brokerUrl = '';
  if (brokerUrl !== '' && !/^(mqtt|mqtts):\/\/[^/\s]+/.test(brokerUrl)) {
    throw new UsageError(`--broker "${brokerUrl}": use mqtts://host:port (or mqtt://host:port, or none)`);
  }
  const brokerUsername = o.mqttUsername ?? prior.brokerUsername ?? '';
  const resolved: Resolved = {
    settings: {
      site,
      gate,
      hardware: o.hardware ?? prior.hardware ?? 'pi',
      brokerUrl,
      brokerUsername,
      hasPassword: false,
      hasCa: o.caFile !== undefined || (brokerUrl !== '' && existsSync(at(CA_PATH))),
      operatorKeys: o.operatorKeys.map(readOperatorKey),
      ...(o.siteRoot !== undefined ? { siteRoot: readPublicKey(o.siteRoot, 'site root public key') } : {}),
      ...(o.siteRecovery !== undefined ? { siteRecovery: readPublicKey(o.siteRecovery, 'site recovery public key') } : {}),
    },
  };
  if (brokerUrl !== '') {
    let password: string;
    if (o.mqttPasswordFile !== undefined) password = firstLine(o.mqttPasswordFile, 'broker password file');
    else if (existsSync(at(PASSWORD_PATH))) password = firstLine(at(PASSWORD_PATH), 'installed broker password');
    else if (o.interactive) password = await ask(`Broker password for ${brokerUsername || `${site}/${gate}`}: `, true);
    else throw new UsageError('the broker needs a password: pass --mqtt-password-file FILE');
    // The cloud link trims the line it reads, so the password checked and stored is the trimmed one.
    password = password.trim();
    const problem = passwordProblem(password, brokerUsername || `${site}/${gate}`);
    if (problem) throw new UsageError(`${problem}; refusing to install it. Give the gate its own broker password`);
    resolved.password = password;
    resolved.settings.hasPassword = true;
  }
  if (o.caFile !== undefined) {
    const ca = readInput(o.caFile, '--ca-file');
    if (!ca.toString('utf8').includes('-----BEGIN CERTIFICATE-----')) throw new UsageError(`--ca-file ${o.caFile} holds no PEM certificate`);
    resolved.ca = ca;
  }
  if (o.siteKey !== undefined) {
    resolved.siteKey = readSiteKeyImport(o.siteKey);
    checkSiteKeyImport(at(KEYS_DIR), resolved.siteKey);
  }
  return resolved;
}

function checkSystem(o: ProvisionOptions): void {
  const nodeProblem = nodeVersionProblem(process.version);
  if (nodeProblem) throw new UsageError(nodeProblem);
  const staged = o.root !== '/' && existsSync(`${o.root}/etc/os-release`);
  const osRelease = staged ? `${o.root}/etc/os-release` : '/etc/os-release';
  const problem = osProblem(parseOsRelease(existsSync(osRelease) ? readFileSync(osRelease, 'utf8') : ''));
  if (problem) throw new UsageError(`${osRelease}: ${problem}`);
  if (o.root === '/' && !o.dryRun && process.getuid?.() !== 0) throw new UsageError('run as root (sudo), or use --dry-run to see what it would do');
}

function runSelftest(nodePath: string): boolean {
  const r = spawnSync('runuser', ['-u', SERVICE_USER, '--', nodePath, `${APP_DIR}/dist/scripts/postern.js`, 'selftest', '--config', CONFIG_PATH], {
    stdio: 'inherit',
  });
  return r.status === 0;
}

export async function provision(argv: readonly string[], out: (line: string) => void): Promise<number> {
  const o = parseOptions(argv, process.stdin.isTTY === true);
  if (o.help) {
    out(USAGE);
    return EXIT.ok;
  }
  checkSystem(o);
  const staged = o.root !== '/';
  const source = resolve(o.source ?? resolve(__dirname, '../../..'));
  checkSourceTree(source);
  const nodePath = realpathSync(process.execPath);
  const accounts = staged ? new StagedAccounts(o.root) : new HostAccounts();
  const ex = new Executor(o.root, o.dryRun, accounts, out);

  const existing = readJson(ex.at(CONFIG_PATH));
  const r = await resolveSettings(o, (p) => ex.at(p), existing);
  const config = buildConfig(existing, r.settings);

  out(`${o.dryRun ? 'Dry run: nothing will be changed. ' : ''}Provisioning gate ${r.settings.site}/${r.settings.gate}${staged ? ` into ${o.root}` : ''}`);
  accounts.ensure(ex);
  if (staged) ex.note('I2C and camera: not switched in a staging tree; the gate\'s raspi-config does that on first provision');
  else enableInterfaces(ex);
  const appBefore = ex.changes.length;
  installApp(ex, source, { installDeps: !o.skipDeps });
  ex.ensureDir('/etc/postern', 0o750, SERVICE_GROUP_OWNER);
  // 0750: operators in the postern group reach the admin socket (0660); the store files are 0600 (UMask=0077).
  ex.ensureDir(DATA_DIR, 0o750, SERVICE_OWNER);
  ensureKeys(ex, r.siteKey);
  if (r.password !== undefined) ex.ensureFile(PASSWORD_PATH, `${r.password}\n`, 0o640, SERVICE_GROUP_OWNER, `${PASSWORD_PATH} (broker password)`);
  if (r.ca) ex.ensureFile(CA_PATH, r.ca, 0o644, ROOT_OWNER);
  ex.ensureFile(CONFIG_PATH, JSON.stringify(config, null, 2) + '\n', 0o640, SERVICE_GROUP_OWNER);
  const changedForService = ex.changes.length > appBefore;
  const changed = installService(ex, source, nodePath, staged) || changedForService;

  let selftestOk = true;
  if (staged) ex.note('self-test: skipped in a staging tree; run `postern selftest` on the gate');
  else if (o.dryRun) ex.note('self-test: would run `postern selftest` as the service user');
  else {
    // A running gate holds the reader and the GPIO lines, and the self-test then skips them. It is about to
    // be restarted anyway when something changed, so it is stopped first and the test covers the hardware.
    if (changed && serviceActive()) ex.run('stop the gate for the self-test (the relay locks on stop)', 'systemctl', ['stop', UNIT_NAME]);
    selftestOk = runSelftest(nodePath);
  }
  if (!staged && !o.noStart) startService(ex, changed);

  const publicKey = gatePublicKey(ex);
  if (publicKey) out(`gate public key (register it with the operator): ${publicKey}`);
  out(ex.changes.length === 0 ? 'Nothing to change: already provisioned.' : `${ex.changes.length} ${o.dryRun ? 'actions would be taken' : 'changes made'}.`);
  if (!selftestOk) {
    out('The self-test found problems (table above). The gate is installed; fix them and run `postern selftest` again.');
    return EXIT.selftestFailed;
  }
  return EXIT.ok;
}

if (require.main === module) {
  provision(process.argv.slice(2), (line) => process.stdout.write(`${line}\n`)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      if (err instanceof UsageError || err instanceof ConfigError) {
        process.stderr.write(`provision: ${err.message}\n`);
        process.exit(EXIT.refused);
      }
      process.stderr.write(`provision failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(EXIT.failed);
    },
  );
}
