import { CertificatesClient, JobsClient, type CertificateRecord } from '@decenter/ledger';
import type { Command } from 'commander';
import { resolve } from 'node:path';

import { UsageError } from '../cli.errors';
import { table } from '../cli-output';
import type { CommandContext } from '../command-context';
import { readLocalObject, verifyCertificate } from '../certificate.verifier';
import { EXIT } from '../exit-codes';
import { IDENTITY_OPTION } from './ledger.command';

/** The CN of an `x509::<subject>::<issuer>` id: the dev CA names each identity's certificate after its user. */
function commonName(x509Id: string): string | undefined {
  const subject = x509Id.split('::')[1] ?? '';
  return /(?:^|[/,])CN=([^/,]+)/.exec(subject)?.[1];
}

export function registerCertCommands(program: Command, context: CommandContext): void {
  const cert = program.command('cert').description('soulbound certificates of contributions, on the ledger');

  cert
    .command('list')
    .description('list certificates (all of them, or those held by --holder ORG/USER)')
    .option('--holder <org/user>', 'only certificates held by this identity')
    .option('--job <job-id>', 'only certificates of this job')
    .option(...IDENTITY_OPTION)
    .action(async (options: { holder?: string; job?: string; identity?: string }) => {
      const reporter = context.reporter();
      const certificates = await context.withLedger(options, async (connection) => {
        const all = await new CertificatesClient(connection).listCertificates(
          options.job === undefined ? {} : { jobId: options.job },
        );
        if (options.holder === undefined) return all;
        const [org, user] = options.holder.split('/');
        const identity = connection.config.identities.find((item) => item.org === org && item.user === user);
        if (identity === undefined)
          throw new UsageError(
            `no identity ${options.holder} in the network`,
            'Use ORG/USER as listed by `decenter network status`.',
          );
        return all.filter(
          (item) => item.owner.mspId === identity.mspId && commonName(item.owner.id) === identity.user,
        );
      });
      reporter.result({ certificates }, () =>
        certificates.length === 0
          ? 'No certificates.'
          : table(
              ['TOKEN', 'ROLE', 'HOLDER', 'JOB', 'REVOKED'],
              certificates.map((item: CertificateRecord) => [
                item.tokenId,
                item.role,
                `${item.owner.mspId} ${commonName(item.owner.id) ?? item.owner.id}`,
                item.jobId,
                item.revoked ? `yes (${item.revokedReason ?? ''})` : 'no',
              ]),
            ),
      );
    });

  cert
    .command('verify')
    .description(
      'check a certificate on the ledger (exists, not revoked, holder, job, model hash) and its metadata JSON',
    )
    .argument('<token-id>', 'the certificate token id')
    .option('--storage-dir <dir>', 'the object store holding the metadata (default: $DECENTER_HOME/storage)')
    .option(...IDENTITY_OPTION)
    .action(async (tokenId: string, options: { storageDir?: string; identity?: string }) => {
      const reporter = context.reporter();
      const storageDir =
        options.storageDir === undefined
          ? resolve(context.home(), context.io.env['STORAGE_DIR'] ?? 'storage')
          : resolve(context.io.cwd, options.storageDir);
      const result = await context.withLedger(options, async (connection) => {
        const certificate = await new CertificatesClient(connection).getCertificate(tokenId);
        const job = await new JobsClient(connection).getJob(certificate.jobId);
        const stored = await readLocalObject(storageDir, certificate.tokenUri).catch((err: unknown) =>
          err instanceof Error ? err : new Error(String(err)),
        );
        return { certificate, verification: verifyCertificate(certificate, job, stored) };
      });
      const { certificate, verification } = result;
      if (!verification.valid) context.setExitCode(EXIT.failure);
      reporter.result({ ...verification, certificate }, () =>
        [
          `certificate ${tokenId}: ${verification.valid ? 'VALID' : 'NOT VALID'}`,
          ...verification.checks.map(
            (item) => `  ${item.ok ? 'ok  ' : 'FAIL'} ${item.check}: ${item.detail}`,
          ),
        ].join('\n'),
      );
    });
}
