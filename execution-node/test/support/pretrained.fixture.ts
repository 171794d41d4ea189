import * as tf from '@tensorflow/tfjs';

/** A pre-trained model as a user uploads it: the files TensorFlow.js saves, and each layer's weights. */
export interface PretrainedUpload {
  files: Record<string, Buffer>;
  weights: Record<string, number[][]>;
}

/**
 * A small MLP for Iris (4 features, 3 classes) made and saved with TensorFlow.js itself: `base` (Dense 8)
 * then `head` (Dense 3, softmax), with seeded initial weights so the test is repeatable.
 */
export async function pretrainedIrisMlp(): Promise<PretrainedUpload> {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({
        inputShape: [4],
        units: 8,
        activation: 'relu',
        name: 'base',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 11 }),
        biasInitializer: tf.initializers.constant({ value: 0.1 }),
      }),
      tf.layers.dense({
        units: 3,
        activation: 'softmax',
        name: 'head',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 12 }),
      }),
    ],
  });
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler((artifacts) => {
      saved = artifacts;
      return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } });
    }),
  );
  const weights: Record<string, number[][]> = {};
  for (const layer of model.layers)
    weights[layer.name] = layer.getWeights().map((w) => Array.from(w.dataSync()));
  model.dispose();
  if (saved?.weightData === undefined || saved.weightSpecs === undefined)
    throw new Error('tfjs saved nothing');
  const modelJson = {
    format: 'layers-model',
    modelTopology: saved.modelTopology,
    weightsManifest: [{ paths: ['weights.bin'], weights: saved.weightSpecs }],
  };
  return {
    files: {
      'model.json': Buffer.from(JSON.stringify(modelJson)),
      'weights.bin': Buffer.from(tf.io.CompositeArrayBuffer.join(saved.weightData)),
    },
    weights,
  };
}
