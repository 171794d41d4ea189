import { SPLITS, SplitAssigner, type SplitName, splitRecords } from './split';

const ratios = { train: 0.7, validation: 0.15, holdout: 0.15 };

describe('seeded split', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    const run = (seed: number): SplitName[] => {
      const assigner = new SplitAssigner(ratios, seed);
      return Array.from({ length: 200 }, (_, i) => assigner.assign(String(i % 3)));
    };
    expect(run(42)).toEqual(run(42));
    expect(run(42)).not.toEqual(run(43));
  });

  it('splits every class in the spec proportions, whatever the order of the file', async () => {
    // Sorted by label, the worst case for a naive sequential split.
    const records = [...Array.from({ length: 400 }, () => 'a'), ...Array.from({ length: 100 }, () => 'b')];
    const perClass: Record<string, Record<SplitName, number>> = {
      a: { train: 0, validation: 0, holdout: 0 },
      b: { train: 0, validation: 0, holdout: 0 },
    };
    const counts = await splitRecords(
      (async function* () {
        for (const r of records) {
          await Promise.resolve();
          yield r;
        }
      })(),
      { ratios, seed: 7, labelOf: (r) => r },
      (split, r) => {
        perClass[r]![split]++;
      },
    );
    expect(counts).toEqual({ train: 350, validation: 75, holdout: 75 });
    expect(perClass.a).toEqual({ train: 280, validation: 60, holdout: 60 });
    expect(perClass.b).toEqual({ train: 70, validation: 15, holdout: 15 });
  });

  it('handles ratios that need a 100-card deck and refuses bad ratios', () => {
    const assigner = new SplitAssigner({ train: 0.333, validation: 0.333, holdout: 0.334 }, 1);
    for (let i = 0; i < 1000; i++) assigner.assign();
    // Largest remainder on 100 cards: 33 / 33 / 34.
    expect(SPLITS.map((s) => assigner.totals[s])).toEqual([330, 330, 340]);
    expect(() => new SplitAssigner({ train: 0.5, validation: 0.5, holdout: 0.5 }, 1)).toThrow(/add up to 1/);
  });
});
