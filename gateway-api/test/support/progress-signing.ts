import { readFile } from 'node:fs/promises';
import path from 'node:path';

import { loadIdentity, loadNetworkConfig, selectIdentity } from '@decenter/ledger';
import type { EpochProgress, ProgressSigner } from '@decenter/proto';

import { identityIdOf } from '../../src/repositories/accounts.repository';

/** A consortium identity (`Org1/executor1`) as a progress signer, with the id the ledger knows it by. */
export async function progressSignerOf(home: string, name: string): Promise<ProgressSigner & { id: string }> {
  const config = await loadNetworkConfig(path.join(home, 'network.json'));
  const identity = selectIdentity(config, name);
  const { signer, hash } = await loadIdentity(identity);
  const certificatePem = await readFile(identity.cert, 'utf8');
  return {
    mspId: identity.mspId,
    certificatePem,
    id: identityIdOf(certificatePem),
    sign: (message) => signer(hash(message)),
  };
}

/** A well-formed report of `signer` for a trial. */
export function reportOf(
  signer: { mspId: string; id: string },
  jobId: string,
  trialId: string,
  epoch = 1,
): EpochProgress {
  return {
    jobId,
    trialId,
    epoch,
    epochs: 5,
    metrics: { loss: 1 / epoch, accuracy: 0.5 },
    nodeMspId: signer.mspId,
    nodeId: signer.id,
    timestamp: new Date().toISOString(),
  };
}
