import { CertificateContract } from './certificate.contract';
import { JobContract } from './job.contract';
import { NodeContract } from './node.contract';

export { CertificateContract } from './certificate.contract';
export { JobContract } from './job.contract';
export { NodeContract } from './node.contract';

/** Read by fabric-chaincode-node; the first contract (JobContract) is the default one. */
export const contracts: (typeof JobContract | typeof NodeContract | typeof CertificateContract)[] = [
  JobContract,
  NodeContract,
  CertificateContract,
];
