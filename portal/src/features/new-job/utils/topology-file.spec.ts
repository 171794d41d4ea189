import { describe, expect, it } from 'vitest';

import { MAX_TOPOLOGY_FILE_BYTES, readTopologyFile, topologyFromText } from './topology-file';

const TOPOLOGY = {
  class_name: 'Sequential',
  config: {
    name: 'm',
    layers: [{ class_name: 'Dense', config: { units: 3, batch_input_shape: [null, 4] } }],
  },
};

describe('topologyFromText', () => {
  it('takes the modelTopology of a TensorFlow.js model.json', () => {
    const modelJson = {
      format: 'layers-model',
      generatedBy: 'TensorFlow.js tfjs-layers v4',
      modelTopology: TOPOLOGY,
      weightsManifest: [{ paths: ['weights.bin'], weights: [] }],
    };
    const result = topologyFromText('model.json', JSON.stringify(modelJson));
    expect(result.source).toBe('model.json');
    expect(JSON.parse(result.topology ?? '')).toEqual(TOPOLOGY);
  });

  it('takes a bare topology, also a Keras-converted one under model_config', () => {
    expect(JSON.parse(topologyFromText('t.json', JSON.stringify(TOPOLOGY)).topology ?? '')).toEqual(TOPOLOGY);
    const keras = { keras_version: '2.15', backend: 'tensorflow', model_config: TOPOLOGY };
    expect(topologyFromText('k.json', JSON.stringify({ modelTopology: keras }))).toMatchObject({
      source: 'model.json',
    });
  });

  it.each([
    ['notes.txt', 'hello there', /notes\.txt is not JSON/],
    ['data.json', '{"rows": [1, 2, 3]}', /data\.json is JSON but not a model topology/],
    ['list.json', '[1, 2]', /list\.json is JSON but not a model topology/],
    ['graph.json', '{"format": "graph-model", "modelTopology": {"node": []}}', /graph model/],
    ['odd.json', '{"modelTopology": {"class_name": "Dense"}}', /modelTopology is not a Sequential/],
  ])('refuses %s with the reason', (name, text, reason) => {
    const result = topologyFromText(name, text);
    expect(result.topology).toBeUndefined();
    expect(result.error).toMatch(reason);
    expect(result.error).toMatch(/choose a TensorFlow\.js layers model\.json or a layers topology JSON file/);
  });
});

describe('readTopologyFile', () => {
  it('reads a file, and refuses one too large to be a topology without reading it', async () => {
    const file = new File([JSON.stringify(TOPOLOGY)], 'topology.json', { type: 'application/json' });
    expect((await readTopologyFile(file)).source).toBe('topology');
    const huge = new File([new Uint8Array(MAX_TOPOLOGY_FILE_BYTES + 1)], 'weights.bin');
    expect((await readTopologyFile(huge)).error).toMatch(
      /weights\.bin is 2\.0 MiB; a topology file is at most 2 MiB/,
    );
  });
});
