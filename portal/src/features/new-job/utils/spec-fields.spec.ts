import { describe, expect, it } from 'vitest';

import { defaultSpecFields, issuesAt, validateSpecFields, type SpecFields } from './spec-fields';

const NOW = new Date('2026-11-22T10:00:00Z');

function fields(overrides: Partial<SpecFields>): SpecFields {
  return { ...defaultSpecFields(NOW), name: 'iris', label: 'species', ...overrides };
}

describe('validateSpecFields', () => {
  it('accepts the defaults once a name and a label are given, with defaults applied', () => {
    const result = validateSpecFields(fields({}));
    expect(result.issues).toEqual([]);
    expect(result.spec?.model).toMatchObject({
      kind: 'template',
      template: 'mlp',
      options: { hiddenUnits: [64, 32] },
    });
    expect(result.spec?.search.epochs).toEqual([10]);
  });

  it('names the empty name and the missing CSV label', () => {
    const { issues } = validateSpecFields(fields({ name: '', label: '' }));
    expect(issuesAt(issues, 'name')[0]?.message).toBe('must not be empty');
    expect(issuesAt(issues, 'data.label')[0]?.message).toMatch(/label column/);
  });

  it('takes the split and its seed, and names a split that does not add up to 1', () => {
    expect(validateSpecFields(fields({ split: '0.8, 0.1, 0.1', splitSeed: '7' })).spec?.data).toMatchObject({
      split: { train: 0.8, validation: 0.1, holdout: 0.1 },
      splitSeed: 7,
    });
    const uneven = validateSpecFields(fields({ split: '0.8, 0.1, 0.2' }));
    expect(uneven.spec).toBeUndefined();
    expect(issuesAt(uneven.issues, 'data.split').map((issue) => issue.message)).toEqual([
      'train + validation + holdout must add up to 1',
    ]);
    expect(issuesAt(validateSpecFields(fields({ split: '0.8, 0.2' })).issues, 'data.split')).not.toEqual([]);
    expect(issuesAt(validateSpecFields(fields({ splitSeed: 'x' })).issues, 'data.splitSeed')).not.toEqual([]);
  });

  it('reports text in a number list', () => {
    const { issues } = validateSpecFields(fields({ hiddenUnits: '64, lots' }));
    expect(issuesAt(issues, 'model')[0]).toEqual({
      path: 'model.options.hiddenUnits[1]',
      message: 'must be a number',
    });
  });

  it('refuses a Lambda layer in a custom topology', () => {
    const topology = JSON.stringify({
      class_name: 'Sequential',
      config: { layers: [{ class_name: 'Lambda' }] },
    });
    const { issues } = validateSpecFields(fields({ modelKind: 'topology', topology }));
    expect(issuesAt(issues, 'model.topology')[0]?.message).toMatch(/Lambda layers carry code/);
  });

  it('reports topology text that is not JSON', () => {
    const { issues } = validateSpecFields(fields({ modelKind: 'topology', topology: '{ "class_name": ' }));
    expect(issuesAt(issues, 'model.topology')[0]?.message).toMatch(/^not valid JSON/);
  });

  it('wants the validation deadline after the training deadline', () => {
    const { issues } = validateSpecFields(
      fields({ trainingDeadline: '2026-11-25T10:00', validationDeadline: '2026-11-24T10:00' }),
    );
    expect(issuesAt(issues, 'schedule.validationDeadline')[0]?.message).toBe(
      'must be after trainingDeadline',
    );
  });
});
