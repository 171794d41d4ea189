/** A valid spec for fixtures/iris/iris.csv, with fields to override. */
export function irisSpec(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'iris',
    task: 'classification',
    model: { kind: 'template', template: 'mlp' },
    data: { format: 'csv', label: 'species' },
    objective: { metric: 'accuracy' },
    schedule: { trainingDeadline: '2099-01-01T00:00:00Z', validationDeadline: '2099-01-02T00:00:00Z' },
    ...overrides,
  };
}
