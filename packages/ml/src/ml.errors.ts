import { DecenterError, type DecenterErrorOptions, type ErrorCode } from '@decenter/core';

/** A model spec, topology or pre-trained artifact cannot be turned into a trainable model. */
export class ModelSpecError extends DecenterError {
  override readonly name: string = 'ModelSpecError';

  constructor(message: string, options: DecenterErrorOptions = {}) {
    super('INVALID_SPEC', message, {
      hint: 'Fix the model section of the job spec; only the mlp/cnn templates and allowlisted layers train.',
      ...options,
    });
  }
}

/** Model artifacts or checkpoints on disk are missing, malformed or do not match their declared shapes. */
export class ArtifactError extends DecenterError {
  override readonly name: string = 'ArtifactError';

  constructor(code: ErrorCode, message: string, options: DecenterErrorOptions = {}) {
    super(code, message, options);
  }
}

/** No TensorFlow.js backend could be started, or the one asked for is not available. */
export class BackendError extends DecenterError {
  override readonly name: string = 'BackendError';

  constructor(message: string, options: DecenterErrorOptions = {}) {
    super('UNAVAILABLE', message, options);
  }
}

/** Training inputs (data batches, hyperparameters, checkpoints to resume from) are unusable. */
export class TrainingError extends DecenterError {
  override readonly name: string = 'TrainingError';

  constructor(code: ErrorCode, message: string, options: DecenterErrorOptions = {}) {
    super(code, message, options);
  }
}
