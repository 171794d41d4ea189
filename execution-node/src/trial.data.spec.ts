import type { ManifestObject } from '@decenter/core';

import { TrialFailedError } from './executor.errors';
import { planTrialData } from './trial.data';

function object(name: string, role: ManifestObject['role'], size = 10): ManifestObject {
  return {
    name,
    role,
    size,
    digest: '0'.repeat(64),
    parts: [{ index: 0, key: `jobs/j/${name}`, size, digest: '0'.repeat(64) }],
  };
}

describe('planTrialData', () => {
  it('takes the train and validation CSV, never the holdout', () => {
    const plan = planTrialData('csv', [
      object('spec.json', 'spec'),
      object('data/train.csv', 'train', 100),
      object('data/validation.csv', 'validation', 20),
      object('data/holdout.csv', 'holdout', 20),
    ]);
    expect(plan.train.map((f) => [f.object.name, f.name])).toEqual([['data/train.csv', 'train.csv']]);
    expect(plan.validation.map((f) => f.name)).toEqual(['validation.csv']);
    expect(plan.bytes).toBe(120);
  });

  it('pairs IDX images and labels per split, whatever their order', () => {
    const plan = planTrialData('idx', [
      object('data/train-labels.idx', 'train'),
      object('data/train-images.idx', 'train'),
      object('data/validation-images.idx', 'validation'),
      object('data/validation-labels.idx', 'validation'),
      object('data/holdout-images.idx', 'holdout'),
    ]);
    expect(plan.train.map((f) => f.name)).toEqual(['train-images.idx', 'train-labels.idx']);
    expect(plan.train[0]?.object.name).toBe('data/train-images.idx');
    expect(plan.validation.map((f) => f.object.name)).toEqual([
      'data/validation-images.idx',
      'data/validation-labels.idx',
    ]);
  });

  it('takes the train and validation image archives, never the holdout', () => {
    const plan = planTrialData('image-zip', [
      object('spec.json', 'spec'),
      object('data/holdout.zip', 'holdout', 30),
      object('data/validation.zip', 'validation', 20),
      object('data/train.zip', 'train', 100),
    ]);
    expect(plan.train.map((f) => [f.object.name, f.name])).toEqual([['data/train.zip', 'train.zip']]);
    expect(plan.validation.map((f) => [f.object.name, f.name])).toEqual([
      ['data/validation.zip', 'validation.zip'],
    ]);
    expect(plan.bytes).toBe(120);
  });

  it('refuses layouts it cannot train from, saying what it found', () => {
    expect(() =>
      planTrialData('csv', [
        object('a.csv', 'train'),
        object('b.csv', 'train'),
        object('v.csv', 'validation'),
      ]),
    ).toThrow(/one train object; its manifest has 2/);
    expect(() => planTrialData('idx', [object('x.idx', 'train'), object('y.idx', 'train')])).toThrow(
      TrialFailedError,
    );
    expect(() =>
      planTrialData('image-zip', [
        object('a.zip', 'train'),
        object('b.zip', 'train'),
        object('v.zip', 'validation'),
      ]),
    ).toThrow(/one train archive; its manifest has 2 train objects \(a.zip, b.zip\)/);
    expect(() => planTrialData('image-zip', [object('t.zip', 'train')])).toThrow(
      /one validation archive; its manifest has 0/,
    );
  });
});
