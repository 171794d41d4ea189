/** Object types of the composite keys: the whole state layout of the chaincode. */
export const KEY = {
  job: 'decenter.job',
  jobByStatus: 'decenter.job~status',
  jobByOwner: 'decenter.job~owner~status',
  jobHistory: 'decenter.job~history',
  jobProgress: 'decenter.job~progress',
  trial: 'decenter.trial',
  candidate: 'decenter.candidate',
  score: 'decenter.score',
  node: 'decenter.node',
  certificate: 'decenter.certificate',
  certificateByHolder: 'decenter.certificate~holder',
} as const;
