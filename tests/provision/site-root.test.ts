import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { buildConfig } from '../../scripts/provision/config-file';
import { readPublicKey } from '../../scripts/provision/keys';
import { parseOptions, USAGE } from '../../scripts/provision/options';

/** The installer pins the site root and the recovery key (cloud.siteRoot, cloud.siteRecovery) from public key files. */
const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');
const settings = { site: 'acme', gate: 'north', hardware: 'pi' as const, brokerUrl: '', brokerUsername: '', hasPassword: false, hasCa: false, operatorKeys: [] };

test('--site-root and --site-recovery are accepted, documented, and end up in the config the daemon reads', () => {
  const o = parseOptions(['--site-root', '/tmp/root.pub', '--site-recovery=/tmp/recovery.pub'], false);
  expect(o).toMatchObject({ siteRoot: '/tmp/root.pub', siteRecovery: '/tmp/recovery.pub' });
  expect(USAGE).toMatch(/--site-root FILE/);
  expect(USAGE).toMatch(/--site-recovery FILE/);
  const root = b64(nacl.sign.keyPair().publicKey);
  const recovery = b64(nacl.sign.keyPair().publicKey);
  const config = buildConfig({ cloud: { operatorKeys: [] } }, { ...settings, siteRoot: root, siteRecovery: recovery });
  expect(config.cloud).toMatchObject({ siteRoot: root, siteRecovery: recovery });
  // a re-run without the flags keeps what is installed
  expect(buildConfig(config, settings).cloud).toMatchObject({ siteRoot: root, siteRecovery: recovery });
});

test('a key file that is not an Ed25519 public key is refused, naming the file and what it is', () => {
  const dir = mkdtempSync(join(tmpdir(), 'postern-site-root-'));
  try {
    writeFileSync(join(dir, 'root.pub'), `${b64(nacl.sign.keyPair().publicKey)}\n`);
    expect(readPublicKey(join(dir, 'root.pub'), 'site root public key')).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    // the secret key file by mistake: 64 bytes
    writeFileSync(join(dir, 'root.key'), `${b64(nacl.sign.keyPair().secretKey)}\n`);
    expect(() => readPublicKey(join(dir, 'root.key'), 'site root public key')).toThrow(/site root public key .*root\.key holds 64 bytes; an Ed25519 public key has 32/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
