/**
 * Self-signed certificates made at test time with openssl (EC P-256, valid 2 days), for TLS
 * tests that need a target whose certificate the client checks.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCert {
  readonly key: Buffer;
  readonly cert: Buffer;
}

/**
 * Makes a self-signed certificate for `name` with `san` (e.g. `DNS:localhost,IP:127.0.0.1`).
 * @throws when openssl is missing or fails (the caller decides to skip or fail).
 */
export function makeCert(name: string, san: string): TestCert {
  const dir = mkdtempSync(join(tmpdir(), 'ironsock-cert-'));
  try {
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '2',
        '-subj',
        `/CN=${name}`,
        '-addext',
        `subjectAltName=${san}`,
      ],
      { stdio: 'ignore' },
    );
    return { key: readFileSync(key), cert: readFileSync(cert) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
