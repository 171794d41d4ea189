import { describe, expect, it } from 'vitest';

import { addProgress, parseJobEvent, type TrainingCurves } from './job-events';

describe('job events', () => {
  it('parses progress from a typed payload and from a named SSE event', () => {
    const payload = { trialId: 't1', epoch: 2, metrics: { loss: 0.5 } };
    expect(parseJobEvent(JSON.stringify({ type: 'progress', ...payload }), 'message')).toEqual({
      type: 'progress',
      ...payload,
    });
    expect(parseJobEvent(JSON.stringify(payload), 'progress')).toEqual({ type: 'progress', ...payload });
  });

  it('accepts the ledger events the gateway relays', () => {
    const data = {
      name: 'CandidateCommitted',
      blockNumber: '12',
      transactionId: 'tx1',
      payload: { jobId: 'j' },
    };
    expect(parseJobEvent(JSON.stringify(data), 'ledger')).toMatchObject({
      type: 'ledger',
      name: 'CandidateCommitted',
    });
  });

  it('ignores what is not a known event', () => {
    expect(parseJobEvent('not json', 'message')).toBeUndefined();
    expect(parseJobEvent(JSON.stringify({ type: 'progress', trialId: 't1' }), 'message')).toBeUndefined();
    expect(parseJobEvent(JSON.stringify({ hello: 1 }), 'message')).toBeUndefined();
    expect(parseJobEvent(JSON.stringify({ hello: 1 }), 'heartbeat')).toBeUndefined();
  });

  it('keeps epochs in order per trial and replaces a re-sent epoch', () => {
    let curves: TrainingCurves = {};
    curves = addProgress(curves, { type: 'progress', trialId: 'a', epoch: 2, metrics: { loss: 0.4 } });
    curves = addProgress(curves, { type: 'progress', trialId: 'a', epoch: 1, metrics: { loss: 0.9 } });
    curves = addProgress(curves, { type: 'progress', trialId: 'b', epoch: 1, metrics: { loss: 1 } });
    curves = addProgress(curves, { type: 'progress', trialId: 'a', epoch: 2, metrics: { loss: 0.3 } });
    expect(curves).toEqual({
      a: [
        { epoch: 1, metrics: { loss: 0.9 } },
        { epoch: 2, metrics: { loss: 0.3 } },
      ],
      b: [{ epoch: 1, metrics: { loss: 1 } }],
    });
  });

  it('keeps the org of the node that reported each epoch', () => {
    let curves: TrainingCurves = {};
    const org1 = { trialId: 'a', nodeMspId: 'Org1MSP', nodeId: 'x509::n1', jobId: 'j', epochs: 3 };
    const event = parseJobEvent(JSON.stringify({ ...org1, epoch: 1, metrics: { loss: 1 } }), 'progress');
    expect(event).toMatchObject({ type: 'progress', nodeMspId: 'Org1MSP' });
    if (event?.type !== 'progress') throw new Error('not a progress event');
    curves = addProgress(curves, event);
    curves = addProgress(curves, {
      type: 'progress',
      trialId: 'b',
      node: { mspId: 'Org2MSP', id: 'x509::n2' },
      epoch: 1,
      metrics: { loss: 2 },
    });
    expect(curves).toEqual({
      a: [{ epoch: 1, metrics: { loss: 1 }, nodeMspId: 'Org1MSP' }],
      b: [{ epoch: 1, metrics: { loss: 2 }, nodeMspId: 'Org2MSP' }],
    });
  });
});
