import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { loadConfig } from '../../firmware/config/load';
import { KEY_FILES, loadGateKeys } from '../../firmware/keys/key-files';
import { nodeVersionProblem, osProblem, parseOsRelease } from '../../scripts/provision/system-checks';
import { ids, makeSourceTree, makeStagingRoot, manifest, REPO } from './helpers/staging';

const MAIN = join(REPO, 'dist/scripts/provision/main.js');
const secrets = mkdtempSync(join(tmpdir(), 'postern-secrets-'));
const passwordFile = join(secrets, 'password');
writeFileSync(passwordFile, 'a-long-gate-password-42\n');
const caFile = join(secrets, 'ca.pem');
writeFileSync(caFile, '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n');
const operatorPublic = Buffer.from(nacl.sign.keyPair().publicKey).toString('base64');
const operatorFile = join(secrets, 'operator.pub');
writeFileSync(operatorFile, `${operatorPublic}\n`);

function provision(root: string, source: string, extra: string[] = [], base = true) {
  const flags = base
    ? ['--site', 'acme', '--gate', 'north', '--broker', 'mqtts://broker.example:8883', '--mqtt-password-file', passwordFile, '--ca-file', caFile, '--operator-key', operatorFile]
    : [];
  const r = spawnSync(process.execPath, [MAIN, '--root', root, '--source', source, '--non-interactive', ...flags, ...extra], { encoding: 'utf8' });
  // npm's own warnings about this machine's npmrc are not the installer's.
  const err = r.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('npm warn')).join('\n');
  return { status: r.status, out: r.stdout, err };
}

afterAll(() => rmSync(secrets, { recursive: true, force: true }));

describe('scripts/provision --root', () => {
  const source = makeSourceTree();
  const root = makeStagingRoot();
  let first: ReturnType<typeof provision>;

  beforeAll(() => {
    first = provision(root, source);
  });
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
    rmSync(source, { recursive: true, force: true });
  });

  it('installs with every file, mode and owner as documented', () => {
    expect(first.err).toBe('');
    expect(first.status).toBe(0);
    const users = ids(root, 'passwd');
    const groups = ids(root, 'group');
    const postern = users.postern!;
    expect(postern).toBeGreaterThanOrEqual(100);
    expect(postern).toBeLessThan(1000);
    const pg = groups.postern!;
    for (const g of ['gpio', 'i2c', 'video']) {
      expect(readFileSync(join(root, 'etc/group'), 'utf8')).toMatch(new RegExp(`^${g}:x:\\d+:(.*,)?postern$`, 'm'));
    }
    expect(groups.video).toBe(44);
    expect(readFileSync(join(root, 'etc/passwd'), 'utf8')).toContain(`postern:x:${postern}:${pg}:Postern gate controller:/var/lib/postern:/usr/sbin/nologin`);

    const m = manifest(root);
    const expectEntry = (path: string, type: string, mode: string, uid: number, gid: number) =>
      expect({ path, ...m[path] }).toMatchObject({ path, type, mode, uid, gid });
    expectEntry('/etc/postern', 'dir', '0750', 0, pg);
    expectEntry('/etc/postern/config.json', 'file', '0640', 0, pg);
    expectEntry('/etc/postern/mqtt-password', 'file', '0640', 0, pg);
    expectEntry('/etc/postern/mqtt-ca.pem', 'file', '0644', 0, 0);
    expectEntry('/etc/postern/keys', 'dir', '0700', postern, pg);
    for (const f of Object.values(KEY_FILES)) expectEntry(`/etc/postern/keys/${f}`, 'file', '0600', postern, pg);
    expectEntry('/var/lib/postern', 'dir', '0750', postern, pg);
    expectEntry('/etc/systemd/system/postern.service', 'file', '0644', 0, 0);
    expectEntry('/usr/local/bin/postern', 'file', '0755', 0, 0);
    expect(m['/etc/systemd/system/multi-user.target.wants/postern.service']).toMatchObject({ type: 'link', content: '/etc/systemd/system/postern.service' });
    expectEntry('/opt/postern', 'dir', '0755', 0, 0);
    expectEntry('/opt/postern/dist/firmware/main.js', 'file', '0644', 0, 0);
    expectEntry('/opt/postern/models/npm/faceplugin-face-recognition-js@0.0.1/model/fr_feature.onnx', 'file', '0644', 0, 0);
    expectEntry('/opt/postern/docs/INSTALL.md', 'file', '0644', 0, 0);
    expect(existsSync(join(root, 'opt/postern/node_modules/tweetnacl/package.json'))).toBe(true);

    // Nothing else: every path is one of the above, an app file owned by root, or a parent directory.
    const appFile = (p: string) => p.startsWith('/opt/postern/');
    const known = new Set([
      '/', '/etc', '/etc/os-release', '/etc/passwd', '/etc/group', '/etc/postern', '/etc/postern/config.json', '/etc/postern/mqtt-password',
      '/etc/postern/mqtt-ca.pem', '/etc/postern/keys', ...Object.values(KEY_FILES).map((f) => `/etc/postern/keys/${f}`), '/var', '/var/lib',
      '/var/lib/postern', '/etc/systemd', '/etc/systemd/system', '/etc/systemd/system/postern.service', '/etc/systemd/system/multi-user.target.wants',
      '/etc/systemd/system/multi-user.target.wants/postern.service', '/usr', '/usr/local', '/usr/local/bin', '/usr/local/bin/postern', '/opt', '/opt/postern',
    ]);
    expect(Object.keys(m).filter((p) => !known.has(p) && !appFile(p))).toEqual([]);
    const appEntries = Object.entries(m).filter(([p]) => appFile(p));
    for (const [p, e] of appEntries) {
      expect({ p, uid: e.uid, gid: e.gid, mode: e.mode }).toEqual({ p, uid: 0, gid: 0, mode: e.type === 'dir' ? '0755' : '0644' });
    }
    expect(Object.keys(m).some((p) => p.startsWith('/opt/postern/dist/tests'))).toBe(false);
    expect(JSON.parse(readFileSync(join(root, 'opt/postern/package.json'), 'utf8')).devDependencies).toBeUndefined();
  });

  it('writes keys the daemon loads, a config the daemon accepts, and the secrets outside the config', () => {
    const keys = loadGateKeys(join(root, 'etc/postern/keys'), false);
    expect(first.out).toContain(`gate public key (register it with the operator): ${Buffer.from(keys.signingPublicKey).toString('base64')}`);
    const loaded = loadConfig(join(root, 'etc/postern/config.json'));
    expect(loaded.config.gate).toEqual({ site: 'acme', id: 'north' });
    expect(loaded.config.hardware).toBe('pi');
    expect(loaded.dataDir).toBe('/var/lib/postern');
    expect(loaded.keysDir).toBe('/etc/postern/keys');
    expect(loaded.config.cloud).toMatchObject({
      url: 'mqtts://broker.example:8883',
      passwordFile: '/etc/postern/mqtt-password',
      caFile: '/etc/postern/mqtt-ca.pem',
      operatorKeys: [operatorPublic],
    });
    expect(readFileSync(join(root, 'etc/postern/config.json'), 'utf8')).not.toContain('a-long-gate-password-42');
    expect(readFileSync(join(root, 'etc/postern/mqtt-password'), 'utf8')).toBe('a-long-gate-password-42\n');
    expect(readFileSync(join(root, 'etc/postern/mqtt-ca.pem'))).toEqual(readFileSync(caFile));
  });

  it('installs the unit with the node it ran under, and systemd-analyze accepts it', () => {
    const unitPath = join(root, 'etc/systemd/system/postern.service');
    const unit = readFileSync(unitPath, 'utf8');
    expect(unit).toMatch(/^ExecStart=\/\S+\/node \/opt\/postern\/dist\/firmware\/main\.js --config \/etc\/postern\/config\.json$/m);
    const analyze = spawnSync('systemd-analyze', ['verify', unitPath], { encoding: 'utf8' });
    if (analyze.error) {
      console.warn('systemd-analyze not installed (Debian package systemd): unit not verified');
      return;
    }
    expect(analyze.stderr.split('\n').filter((l) => l.includes('postern.service'))).toEqual([]);
    expect(analyze.status).toBe(0);
  });

  it('changes nothing when run again, and keeps settings tuned by hand', () => {
    const configPath = join(root, 'etc/postern/config.json');
    const tuned = JSON.parse(readFileSync(configPath, 'utf8'));
    tuned.door = { pulseMs: 7000 };
    writeFileSync(configPath, JSON.stringify(tuned, null, 2) + '\n');
    const before = manifest(root);
    const again = provision(root, source);
    expect(again.err).toBe('');
    expect(again.status).toBe(0);
    expect(again.out).toContain('Nothing to change: already provisioned.');
    expect(manifest(root)).toEqual(before);
    // Without any flags the existing config supplies every answer.
    const bare = provision(root, source, [], false);
    expect(bare.out).toContain('Nothing to change');
    expect(manifest(root)).toEqual(before);
  });

  it('--dry-run on a provisioned tree reports nothing to do and writes nothing', () => {
    const before = manifest(root);
    const dry = provision(root, source, ['--dry-run', '--gate', 'south']);
    expect(dry.status).toBe(0);
    expect(dry.out).toMatch(/^would update \/etc\/postern\/config\.json/m);
    expect(manifest(root)).toEqual(before);
  });

  it('removes files an older version left in the app', () => {
    const stale = join(root, 'opt/postern/dist/firmware/retired-module.js');
    writeFileSync(stale, 'module.exports = {};\n');
    const r = provision(root, source);
    expect(r.out).toMatch(/^remove \/opt\/postern\/dist\/firmware\/retired-module\.js$/m);
    expect(existsSync(stale)).toBe(false);
    expect(provision(root, source).out).toContain('Nothing to change');
  });

  it('refuses to replace the site key with a different one', () => {
    const other = join(secrets, 'other-site.key');
    writeFileSync(other, Buffer.from(nacl.randomBytes(32)).toString('base64') + '\n');
    const before = manifest(root);
    const r = provision(root, source, ['--site-key', other, '--gate', 'renamed']);
    expect(r.status).toBe(2);
    expect(r.err).toContain('already holds a different site key');
    expect(manifest(root)).toEqual(before);
    const same = provision(root, source, ['--site-key', join(root, 'etc/postern/keys', KEY_FILES.siteHmac)]);
    expect(same.status).toBe(0);
  });
});

describe('scripts/provision refusals and dry runs on a fresh tree', () => {
  const source = makeSourceTree();
  afterAll(() => rmSync(source, { recursive: true, force: true }));

  it('refuses a source tree without the fetched model files, naming the fix, and writes nothing', () => {
    const bare = makeSourceTree();
    rmSync(join(bare, 'models', 'npm'), { recursive: true, force: true });
    const root = makeStagingRoot();
    const before = manifest(root);
    const r = provision(root, bare);
    expect(r.status).not.toBe(0);
    expect(r.err).toContain(`${join(bare, 'models', 'npm')} is missing: fetch the model files first (npm run models)`);
    expect(manifest(root)).toEqual(before);
    rmSync(root, { recursive: true, force: true });
    rmSync(bare, { recursive: true, force: true });
  });

  it('--dry-run prints every action and writes nothing', () => {
    const root = makeStagingRoot();
    const before = manifest(root);
    const r = provision(root, source, ['--dry-run']);
    expect(r.err).toBe('');
    expect(r.status).toBe(0);
    expect(manifest(root)).toEqual(before);
    for (const action of [
      /^would update \/etc\/passwd/m,
      /^would write \/opt\/postern\/dist\/firmware\/main\.js/m,
      /^would install production dependencies: npm ci --omit=dev/m,
      /^would generate the gate signing key/m,
      /^would write \/etc\/postern\/config\.json/m,
      /^would write \/etc\/systemd\/system\/postern\.service/m,
      /^would link \/etc\/systemd\/system\/multi-user\.target\.wants\/postern\.service/m,
    ]) {
      expect(r.out).toMatch(action);
    }
    rmSync(root, { recursive: true, force: true });
  });

  it.each([
    ['an empty password', '\n', 'the broker password is empty'],
    ['a default password', 'changeme\n', 'well-known default'],
    ['a short password', 'x7Kq!2\n', 'shorter than 12'],
  ])('refuses %s and writes nothing', (_what, password, message) => {
    const root = makeStagingRoot();
    const before = manifest(root);
    const file = join(secrets, 'bad-password');
    writeFileSync(file, password);
    const r = provision(root, source, ['--mqtt-password-file', file]);
    expect(r.status).toBe(2);
    expect(r.err).toContain(message);
    expect(manifest(root)).toEqual(before);
    rmSync(root, { recursive: true, force: true });
  });

  it('refuses a system that is not Debian or Raspberry Pi OS', () => {
    const root = makeStagingRoot();
    writeFileSync(join(root, 'etc/os-release'), 'PRETTY_NAME="Fedora Linux 40"\nID=fedora\n');
    const before = manifest(root);
    const r = provision(root, source);
    expect(r.status).toBe(2);
    expect(r.err).toContain('this is Fedora Linux 40; the installer supports Debian and Raspberry Pi OS only');
    expect(manifest(root)).toEqual(before);
    rmSync(root, { recursive: true, force: true });
  });

  it('names the missing value when not interactive', () => {
    const root = makeStagingRoot();
    const r = provision(root, source, ['--broker', 'none'], false);
    expect(r.status).toBe(2);
    expect(r.err).toContain('Site id (--site) is needed');
    rmSync(root, { recursive: true, force: true });
  });
});

describe('scripts/provision --dry-run on this machine itself', () => {
  // The host path (useradd, raspi-config, systemctl) may only be looked at here, never run for real.
  const source = makeSourceTree();
  const log = join(secrets, 'raspi-config.log');
  afterAll(() => rmSync(source, { recursive: true, force: true }));

  it('plans accounts, I2C, the unit and the service without changing anything', () => {
    const watched = ['/etc/postern', '/opt/postern', '/var/lib/postern', '/etc/systemd/system/postern.service', '/usr/local/bin/postern'];
    const before = watched.map((p) => existsSync(p));
    const r = spawnSync(process.execPath, [MAIN, '--dry-run', '--source', source, '--non-interactive', '--site', 'acme', '--gate', 'north', '--broker', 'none'], {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${join(__dirname, 'fixtures/raspi-bin')}:${process.env.PATH}`, RASPI_CONFIG_LOG: log },
    });
    expect(r.status).toBe(0);
    expect(watched.map((p) => existsSync(p))).toEqual(before);
    expect(r.stdout).toMatch(/^would enable I2C \(takes effect after a reboot\): raspi-config nonint do_i2c 0$/m);
    expect(r.stdout).toMatch(/^would start the gate at boot: systemctl enable postern\.service$/m);
    expect(r.stdout).toMatch(/self-test: would run `postern selftest` as the service user/);
    const hasUser = spawnSync('getent', ['passwd', 'postern']).status === 0;
    expect(r.stdout.includes('would create system user postern: useradd --system')).toBe(!hasUser);
    // Asked, never told: only the read-only query reached raspi-config.
    expect(readFileSync(log, 'utf8')).toBe('nonint get_i2c\n');
  });
});

const hasScript = spawnSync('sh', ['-c', 'command -v script']).status === 0;
(hasScript ? describe : describe.skip)('scripts/provision on a terminal', () => {
  const source = makeSourceTree();
  const root = makeStagingRoot();
  afterAll(() => {
    rmSync(source, { recursive: true, force: true });
    rmSync(root, { recursive: true, force: true });
  });

  it('asks for what the flags did not give, without echoing the password', async () => {
    // util-linux `script` gives the installer a real pseudo-terminal, as an installer at the gate has.
    const child = spawn('script', ['-qec', `${process.execPath} ${MAIN} --root ${root} --source ${source} --skip-deps`, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    const answers: [string, string][] = [
      ['Site id (--site): ', 'acme'],
      ['Gate id (--gate): ', 'north'],
      ['(--broker; empty for none): ', 'mqtt://127.0.0.1:1883'],
      ['Broker password for acme/north: ', 'typed-secret-password-7'],
    ];
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const next = answers[0];
      if (next && out.includes(next[0])) {
        answers.shift();
        child.stdin.write(`${next[1]}\n`);
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(answers).toEqual([]);
    expect(code).toBe(0);
    expect(out).not.toContain('typed-secret-password-7');
    expect(readFileSync(join(root, 'etc/postern/mqtt-password'), 'utf8')).toBe('typed-secret-password-7\n');
    expect(JSON.parse(readFileSync(join(root, 'etc/postern/config.json'), 'utf8'))).toMatchObject({ gate: { site: 'acme', id: 'north' }, cloud: { url: 'mqtt://127.0.0.1:1883' } });
  });
});

describe('system checks', () => {
  it('wants Node 20.19 or newer', () => {
    expect(nodeVersionProblem('v20.18.3')).toContain('too old');
    expect(nodeVersionProblem('v18.19.0')).toContain('too old');
    expect(nodeVersionProblem('v20.19.0')).toBeNull();
    expect(nodeVersionProblem('v22.1.0')).toBeNull();
  });
  it('takes Debian and both flavours of Raspberry Pi OS', () => {
    expect(osProblem(parseOsRelease('ID=debian\nVERSION_CODENAME=bookworm\n'))).toBeNull();
    expect(osProblem(parseOsRelease('ID=raspbian\nID_LIKE=debian\n'))).toBeNull();
    expect(osProblem(parseOsRelease('ID=ubuntu\nID_LIKE=debian\n'))).toBeNull();
    expect(osProblem(parseOsRelease('ID="arch"\n'))).toContain('Debian and Raspberry Pi OS only');
  });
});
