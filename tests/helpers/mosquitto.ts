import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';

export const MOSQUITTO = '/usr/sbin/mosquitto';
export const MOSQUITTO_PASSWD = '/usr/bin/mosquitto_passwd';
/** The production ACL from the repo: tests prove that file, not a copy of it. */
export const REPO_ACL = resolve(__dirname, '../../scripts/mosquitto/acl');
export const REPO_CONF = resolve(__dirname, '../../scripts/mosquitto/mosquitto.conf');

export interface BrokerUser {
  username: string;
  password: string;
}

/** PEM files for a TLS listener (see makeTestCertificates). */
export interface BrokerTls {
  caFile: string;
  certFile: string;
  keyFile: string;
}

export interface Broker {
  /** mqtt:// or, with `tls`, mqtts:// on 127.0.0.1. */
  url: string;
  port: number;
  dir: string;
  /** Stops the broker (SIGTERM, waits for exit). Restartable with `start()` on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it and deletes its directory. */
  dispose(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((res) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      res(true);
    });
    socket.once('error', () => res(false));
  });
}

/**
 * A real mosquitto on a free 127.0.0.1 port with its own config, password file and (by default) the
 * repo's production ACL, in a temp dir; with `tls`, the listener is TLS-only as in production.
 */
export interface BrokerOptions {
  acl?: string;
  tls?: BrokerTls;
  /**
   * `use_username_as_clientid true` on the listener, as the shipped mosquitto.conf has it. Off by default
   * because most suites connect several clients with the one `operator` login, which would then take
   * the session from each other.
   */
  clientIdFromLogin?: boolean;
}

export async function startMosquitto(users: BrokerUser[], options: BrokerOptions = {}): Promise<Broker> {
  const dir = mkdtempSync(join(tmpdir(), 'postern-mosquitto-'));
  const port = await freePort();
  const passwd = join(dir, 'passwd');
  writeFileSync(passwd, '', { mode: 0o600 });
  for (const u of users) execFileSync(MOSQUITTO_PASSWD, ['-b', passwd, u.username, u.password], { stdio: 'ignore' });
  const acl = join(dir, 'acl');
  if (options.acl !== undefined) writeFileSync(acl, options.acl);
  else copyFileSync(REPO_ACL, acl);
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    [
      // Run as whoever runs the tests (root on CI) instead of dropping to `mosquitto`, which cannot read the temp dir.
      `user ${userInfo().username}`,
      'per_listener_settings false',
      'allow_anonymous false',
      `password_file ${passwd}`,
      `acl_file ${acl}`,
      `listener ${port} 127.0.0.1`,
      ...(options.clientIdFromLogin ? ['use_username_as_clientid true'] : []),
      ...(options.tls ? [`cafile ${options.tls.caFile}`, `certfile ${options.tls.certFile}`, `keyfile ${options.tls.keyFile}`, 'tls_version tlsv1.2'] : []),
      'set_tcp_nodelay true',
      'persistence true',
      `persistence_location ${dir}/`,
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      '',
    ].join('\n'),
  );
  let child: ChildProcess | undefined;
  let stderr = '';

  const start = async () => {
    stderr = '';
    const proc = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`mosquitto exited with ${proc.exitCode}: ${stderr}`);
      if (await canConnect(port)) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    proc.kill('SIGKILL');
    throw new Error(`mosquitto did not listen on ${port} within 5 s: ${stderr}`);
  };
  const stop = async () => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    await new Promise<void>((res) => {
      proc.once('exit', () => res());
      proc.kill('SIGTERM');
    });
  };
  await start();
  return {
    url: `${options.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${port}`,
    port,
    dir,
    start,
    stop,
    dispose: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A throwaway CA and a broker certificate for 127.0.0.1 (EC P-256, so openssl is quick), in `dir`. */
export function makeTestCertificates(dir: string): BrokerTls {
  const f = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=postern test CA', '-keyout', f('ca.key'), '-out', f('ca.crt'));
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', f('broker.key'), '-out', f('broker.csr'));
  writeFileSync(f('san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  openssl('x509', '-req', '-in', f('broker.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', f('san.ext'), '-out', f('broker.crt'));
  return { caFile: f('ca.crt'), certFile: f('broker.crt'), keyFile: f('broker.key') };
}
