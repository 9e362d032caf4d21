/**
 * Files named by command options (TLS certificates and keys, SASL users and passwords), for the
 * commands that talk Kafka's protocol: `serve` (the listener's certificate) and `mirror` (the
 * client's). They are read while the options are parsed, so that a missing or unreadable file is
 * one clear error (exit 1) before any store is opened or any connection made.
 */
import fs from 'node:fs';
import { CliError, stringOption, UsageError, type Parsed } from './args.js';

/** `--tls-cert F --tls-key F`: a certificate chain and its key, in PEM. */
export const CERTIFICATE_OPTIONS = {
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
} as const;

/** The contents of `file`, named by `option`; CliError `--option FILE: why` when it cannot be read. */
export function readOptionFile(option: string, file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new CliError(`${option} ${file}: ${(err as Error).message}`);
  }
}

/** The certificate and key of `--tls-cert` and `--tls-key` (both or neither: a usage error else). */
export function certificateOptions(parsed: Parsed): { cert: Buffer; key: Buffer } | undefined {
  const cert = stringOption(parsed, 'tls-cert');
  const key = stringOption(parsed, 'tls-key');
  if ((cert === undefined) !== (key === undefined))
    throw new UsageError('--tls-cert and --tls-key go together');
  if (cert === undefined || key === undefined) return undefined;
  return { cert: readOptionFile('--tls-cert', cert), key: readOptionFile('--tls-key', key) };
}
