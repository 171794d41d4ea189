import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';

import { seriesFor, TrainingCurvesPanel } from './training-curves';

const CURVES = {
  t000: [
    { epoch: 1, metrics: { loss: 1.1, accuracy: 0.4 }, nodeMspId: 'Org1MSP' },
    { epoch: 2, metrics: { loss: 0.8, accuracy: 0.6 }, nodeMspId: 'Org1MSP' },
  ],
  t001: [{ epoch: 1, metrics: { loss: 1.3, accuracy: 0.3 }, nodeMspId: 'Org2MSP' }],
  t002: [{ epoch: 1, metrics: { loss: 1.2 } }],
};

describe('training curves', () => {
  it('draws one line per trial named with the org of its node', () => {
    expect(seriesFor(CURVES, 'loss').map((s) => s.name)).toEqual([
      't000 (Org1MSP)',
      't001 (Org2MSP)',
      't002',
    ]);
    expect(seriesFor(CURVES, 'accuracy').map((s) => s.points.length)).toEqual([2, 1]);
  });

  it("shows the candidates of every org's nodes in the legend", () => {
    render(<TrainingCurvesPanel curves={CURVES} metric="accuracy" state="open" />);
    const legend = screen.getAllByRole('listitem').map((item) => item.textContent);
    expect(legend).toEqual(
      expect.arrayContaining([
        expect.stringContaining('t000 (Org1MSP) — last loss'),
        expect.stringContaining('t001 (Org2MSP) — last loss'),
        expect.stringContaining('t001 (Org2MSP) — last accuracy'),
      ]),
    );
  });
});
