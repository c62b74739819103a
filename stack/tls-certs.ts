import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface TlsFiles {
  /** The CA certificate clients trust (MQTT_CA_FILE, `--mqtt-ca-file`). */
  caFile: string;
  /** The broker's certificate, signed by the CA. */
  certFile: string;
  /** The broker's private key (mode 600). */
  keyFile: string;
}

export const OPENSSL_INSTALL_HINT = 'sudo apt-get install -y openssl';

/**
 * A private CA and a server certificate signed by it, for a broker's TLS listener in
 * development and tests: `ca.crt`, `server.crt`, `server.key` under `dir`, made with `openssl`
 * (P-256 keys). Files already there are kept, so an operator may put their own certificate and
 * key in place. The server certificate names `hosts` (DNS names or IP addresses) and, always,
 * `localhost`, `127.0.0.1` and this machine's hostname; clients must connect by one of them.
 */
export function ensureTlsCertificates(dir: string, o: { hosts?: string[]; days?: number } = {}): TlsFiles {
  const files: TlsFiles = {
    caFile: path.join(dir, 'ca.crt'),
    certFile: path.join(dir, 'server.crt'),
    keyFile: path.join(dir, 'server.key'),
  };
  if (existsSync(files.caFile) && existsSync(files.certFile) && existsSync(files.keyFile)) return files;
  mkdirSync(dir, { recursive: true });
  const caKey = path.join(dir, 'ca.key');
  const csr = path.join(dir, 'server.csr');
  const ext = path.join(dir, 'server.ext');
  const days = String(o.days ?? 825);
  const hosts = [...new Set(['localhost', '127.0.0.1', os.hostname(), ...(o.hosts ?? [])])].filter((h) => h && h !== '0.0.0.0' && h !== '::');
  const san = hosts.map((h) => (isIP(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    caKey,
    '-out',
    files.caFile,
    '-days',
    days,
    '-subj',
    '/CN=dco development CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  openssl(['req', ...ec, '-keyout', files.keyFile, '-out', csr, '-subj', '/CN=dco MQTT broker']);
  writeFileSync(
    ext,
    [`subjectAltName=${san}`, 'basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment', 'extendedKeyUsage=serverAuth', ''].join('\n'),
  );
  openssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    files.caFile,
    '-CAkey',
    caKey,
    '-set_serial',
    `0x${Date.now().toString(16)}`,
    '-days',
    days,
    '-extfile',
    ext,
    '-out',
    files.certFile,
  ]);
  chmodSync(caKey, 0o600);
  chmodSync(files.keyFile, 0o600);
  rmSync(csr, { force: true });
  rmSync(ext, { force: true });
  return files;
}

function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { stdio: 'pipe' });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    if (e.code === 'ENOENT') throw new Error(`openssl is not installed (needed to make TLS certificates). Install it with: ${OPENSSL_INSTALL_HINT}`);
    throw new Error(`openssl ${args[0]} failed: ${e.stderr?.toString().trim() || e.message}`);
  }
}
