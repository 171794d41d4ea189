/**
 * The small Iris job the system tests submit: one MLP trial of one epoch, deadlines far away, so a test
 * decides when anything trains. `overrides` replaces top-level fields (a bad-input case, a topology).
 */
export function irisJobSpec(name: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    task: 'classification',
    model: { kind: 'template', template: 'mlp', options: { hiddenUnits: [4] } },
    data: { format: 'csv', label: 'species' },
    search: { learningRate: [0.01], epochs: [1] },
    objective: { metric: 'accuracy' },
    schedule: { trainingDeadline: '2099-01-01T00:00:00Z', validationDeadline: '2099-01-02T00:00:00Z' },
    ...overrides,
  };
}
