import { cpus, loadavg } from 'node:os';
import nacl from 'tweetnacl';
import { certificatePermits, certificateStanding, issueCertificate, openCertificate, withCertificate } from '../../firmware/cloud/certificates';
import { commandBodyFor, verifyCommand, type VerifyContext } from '../../firmware/cloud/commands';
import { sign, signedBytes, type Envelope } from '../../firmware/cloud/envelope';
import { intArg, parseArgs } from './args';
import { percentile, round } from './stats';

const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');

/** Wall-clock and CPU milliseconds of one call: the CPU figure leaves out time the process spent descheduled on a busy machine. */
function timed(fn: () => void): { wall: number; cpu: number } {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  fn();
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1000 };
}

/**
 * `certs [--commands 1000] [--warmup 50]`: what an operator certificate adds to verifying a command.
 * Every command comes from a new operator key under a new certificate (new serial), so nothing about
 * the chain can have been seen before: the gate's first command under each certificate. All keys,
 * certificates and commands are signed first; then three timings per command: the certificate alone
 * (parse, root, signature, schema, window, revocation, gate and scope), the whole verifyCommand with
 * the certificate, and verifyCommand of the same command signed by a key in cloud.operatorKeys, also
 * never seen before (a key's import is kept once done, so both columns pay it once). Last, tweetnacl's
 * verify of certificate signatures, which the gate does not use, for scale.
 */
export async function runCertBench(argv: readonly string[], log: (line: string) => void): Promise<Record<string, unknown>> {
  const args = parseArgs(argv, ['commands', 'warmup']);
  const commands = intArg(args, 'commands', 1000);
  const warmup = intArg(args, 'warmup', 50);
  const root = nacl.sign.keyPair();
  const listedKeys = new Set<string>();
  const identity = { site: 'bench-site', gate: 'bench-gate' };
  const now = Date.now();
  const ctx: VerifyContext = {
    trustedKeys: listedKeys,
    roots: new Set([b64(root.publicKey)]),
    revoked: new Set([3, 5, 8]),
    identity,
    nowMs: now,
    skewMs: 30_000,
    maxBytes: 65_536,
    replay: { has: () => false },
  };
  const fixtures: Array<{ cert: Envelope; certified: string; plain: string }> = [];
  for (let i = 0; i < warmup + commands; i += 1) {
    const operator = nacl.sign.keyPair();
    const listed = nacl.sign.keyPair();
    listedKeys.add(b64(listed.publicKey));
    const cert = issueCertificate(root.secretKey, { serial: 1000 + i, site: identity.site, gates: [identity.gate], operatorKey: b64(operator.publicKey), scopes: ['door-open', 'door-mode'], notBefore: now - 60_000, notAfter: now + 86_400_000 });
    const body = commandBodyFor(identity, 'open', {}, now, 30_000, `bench-nonce-${String(i).padStart(10, '0')}`);
    fixtures.push({ cert, certified: JSON.stringify(withCertificate(sign('cmd', body, operator.secretKey), cert)), plain: JSON.stringify(sign('cmd', body, listed.secretKey)) });
  }
  const samples = { chain: [] as { wall: number; cpu: number }[], withCert: [] as { wall: number; cpu: number }[], withoutCert: [] as { wall: number; cpu: number }[] };
  fixtures.forEach(({ cert, certified, plain }, i) => {
    const chain = timed(() => {
      const opened = openCertificate(cert, ctx.roots);
      if (!opened.ok || certificateStanding(opened.cert, ctx) || certificatePermits(opened.cert, 'door-open', identity.gate)) throw new Error('bench certificate refused');
    });
    const withCert = timed(() => {
      if (!verifyCommand(certified, ctx).ok) throw new Error('bench command refused');
    });
    const withoutCert = timed(() => {
      if (!verifyCommand(plain, ctx).ok) throw new Error('bench command refused');
    });
    if (i < warmup) return;
    samples.chain.push(chain);
    samples.withCert.push(withCert);
    samples.withoutCert.push(withoutCert);
  });
  const nacl50 = fixtures.slice(0, 50).map(({ cert }) => timed(() => nacl.sign.detached.verify(signedBytes('operator-cert', cert.body), Buffer.from(cert.sig, 'base64'), root.publicKey)));
  const stat = (v: { wall: number; cpu: number }[]) => ({
    wallP50: round(percentile(v.map((s) => s.wall), 50), 3),
    wallP99: round(percentile(v.map((s) => s.wall), 99), 3),
    cpuP50: round(percentile(v.map((s) => s.cpu), 50), 3),
    cpuP99: round(percentile(v.map((s) => s.cpu), 99), 3),
  });
  const rows = { certificateChain: stat(samples.chain), commandWithCertificate: stat(samples.withCert), commandWithListedKey: stat(samples.withoutCert), tweetnaclVerifyOne: stat(nacl50) };
  const cpu = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores`;
  const load = loadavg().map((l) => round(l, 1));
  log(`CPU: ${cpu}; Node ${process.version}; load average ${load.join(' / ')}; ${commands} commands, each under a new certificate and operator key (after ${warmup} warm-up)`);
  log('| what | wall p50 ms | wall p99 ms | CPU p50 ms | CPU p99 ms |');
  log('|---|---|---|---|---|');
  const line = (what: string, r: ReturnType<typeof stat>) => log(`| ${what} | ${r.wallP50} | ${r.wallP99} | ${r.cpuP50} | ${r.cpuP99} |`);
  line('certificate chain alone (parse, root, Ed25519, schema, window, revocation, gate, scope)', rows.certificateChain);
  line('verifyCommand, certified key (chain + command)', rows.commandWithCertificate);
  line('verifyCommand, key in cloud.operatorKeys (no certificate)', rows.commandWithListedKey);
  line(`for scale: tweetnacl verify of one certificate signature (${nacl50.length} runs)`, rows.tweetnaclVerifyOne);
  const met = rows.certificateChain.wallP99 <= 1;
  log(`target: the chain adds ≤ 1 ms p99 to a command (wall clock): ${met ? 'met' : 'NOT met'}, ${rows.certificateChain.wallP99} ms`);
  return { bench: 'certs', cpu, node: process.version, loadAverage: load, commands, ...rows, targetMet: met };
}
