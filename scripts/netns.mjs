// Runs a command inside a private network namespace that this script creates itself, so WebRTC
// between Chromium pages works (Chromium gathers no ICE candidates with loopback alone) and no
// test traffic can leave the sandbox. Inside: `lo` up plus a veth pair 10.99.0.1/24 <-> 10.99.0.2/24
// with a default route, so Chromium sees a real interface. Needs root and `unshare`; elsewhere the
// command runs on the host network (WebRTC between pages may then need a real interface).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const SETUP = [
  'ip link set lo up',
  'ip link add bp0 type veth peer name bp1',
  'ip addr add 10.99.0.1/24 dev bp0',
  'ip addr add 10.99.0.2/24 dev bp1',
  'ip link set bp0 up',
  'ip link set bp1 up',
  'ip route add default via 10.99.0.2 dev bp0',
].join(' && ');

/** True when this process already runs inside the namespace made by {@link runInNetns}. */
export function insideNetns() {
  return process.env.BACKPACT_NETNS === '1';
}

/** True when this machine can make a private network namespace (root, unshare, ip). */
export function canUseNetns() {
  if (process.env.BACKPACT_NETNS === '0') return false;
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return false;
  if (!existsSync('/usr/bin/unshare') || !(existsSync('/usr/sbin/ip') || existsSync('/sbin/ip') || existsSync('/usr/bin/ip'))) return false;
  const probe = spawnSync('unshare', ['-n', 'sh', '-c', SETUP], { stdio: 'ignore' });
  return probe.status === 0;
}

/**
 * Runs `argv` (inside the namespace when possible) with `env`, forwarding stdio and signals.
 * Resolves with the exit code.
 */
export function runInNetns(argv, env = process.env) {
  const useNs = !insideNetns() && canUseNetns();
  const [cmd, args] = useNs
    ? ['unshare', ['-n', 'sh', '-c', `${SETUP} && exec "$@"`, 'netns', ...argv]]
    : [argv[0], argv.slice(1)];
  if (!useNs && !insideNetns()) {
    process.stderr.write('note: no private network namespace (needs root and unshare); running on the host network\n');
  }
  const child = spawn(cmd, args, { stdio: 'inherit', env: { ...env, BACKPACT_NETNS: useNs || insideNetns() ? '1' : '0' } });
  const forward = (sig) => child.kill(sig);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}
