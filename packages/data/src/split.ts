import { createHash } from 'node:crypto';

export const SPLITS = ['train', 'validation', 'holdout'] as const;
export type SplitName = (typeof SPLITS)[number];
export type SplitRatios = Record<SplitName, number>;
export type SplitCounts = Record<SplitName, number>;

/** mulberry32: a small, well-mixed 32-bit PRNG, identical on every platform. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Smallest deck in which every ratio is a whole number of cards (20 for 0.7/0.15/0.15), at most 100. */
function deckCounts(ratios: SplitRatios): number[] {
  const values = SPLITS.map((s) => ratios[s]);
  for (let n = 1; n <= 100; n++) {
    if (values.every((r) => Math.abs(r * n - Math.round(r * n)) < 1e-9))
      return values.map((r) => Math.round(r * n));
  }
  // Largest remainder on 100 cards.
  const raw = values.map((r) => r * 100);
  const counts = raw.map(Math.floor);
  const order = raw.map((r, i) => [r - Math.floor(r), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let k = 0; counts.reduce((x, y) => x + y, 0) < 100; k++) {
    const index = (order[k % 3] as readonly [number, number])[1];
    counts[index] = (counts[index] as number) + 1;
  }
  return counts;
}

/**
 * Deterministic, streaming train / validation / holdout assignment. Records are stratified by label: each
 * label value draws from its own sequence of shuffled decks holding the split ratios exactly, so every
 * class is split in the spec's proportions (to within one deck) whatever the order of the file. The same
 * seed, ratios and record order always give the same split, on every machine.
 */
export class SplitAssigner {
  private readonly counts: number[];
  private readonly deckSize: number;
  private readonly state = new Map<string, { dealt: number; deck: SplitName[] }>();
  readonly totals: SplitCounts = { train: 0, validation: 0, holdout: 0 };

  constructor(
    ratios: SplitRatios,
    private readonly seed: number,
  ) {
    const sum = SPLITS.reduce((total, s) => total + ratios[s], 0);
    if (SPLITS.some((s) => !(ratios[s] > 0)) || Math.abs(sum - 1) > 1e-9) {
      throw new RangeError('split ratios must be positive and add up to 1');
    }
    this.counts = deckCounts(ratios);
    this.deckSize = this.counts.reduce((x, y) => x + y, 0);
  }

  private deck(label: string, number: number): SplitName[] {
    const cards: SplitName[] = [];
    SPLITS.forEach((split, i) => {
      for (let k = 0; k < (this.counts[i] as number); k++) cards.push(split);
    });
    const digest = createHash('sha256').update(`${this.seed}\u0000${label}\u0000${number}`).digest();
    const random = prng(digest.readUInt32BE(0));
    for (let i = cards.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [cards[i], cards[j]] = [cards[j] as SplitName, cards[i] as SplitName];
    }
    return cards;
  }

  /** The split of the next record with this label (any constant, e.g. '', when not stratifying). */
  assign(label = ''): SplitName {
    let entry = this.state.get(label);
    if (entry === undefined) {
      entry = { dealt: 0, deck: [] };
      this.state.set(label, entry);
    }
    const position = entry.dealt % this.deckSize;
    if (position === 0) entry.deck = this.deck(label, entry.dealt / this.deckSize);
    entry.dealt++;
    const split = entry.deck[position] as SplitName;
    this.totals[split]++;
    return split;
  }
}

/** Streams records into three sinks by the seeded assignment; returns how many went to each. */
export async function splitRecords<T>(
  records: AsyncIterable<T>,
  options: { ratios: SplitRatios; seed: number; labelOf?: (record: T) => string | undefined },
  write: (split: SplitName, record: T) => Promise<void> | void,
): Promise<SplitCounts> {
  const assigner = new SplitAssigner(options.ratios, options.seed);
  for await (const record of records) {
    await write(assigner.assign(options.labelOf?.(record) ?? ''), record);
  }
  return { ...assigner.totals };
}
