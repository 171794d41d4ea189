/** A topology file is JSON of at most this size: a model.json's weights live in other files, never here. */
export const MAX_TOPOLOGY_FILE_BYTES = 2 * 1024 * 1024;

export interface TopologyFileResult {
  /** The topology, pretty-printed for the editor, when the file holds one. */
  topology?: string;
  /** What the file was: a TensorFlow.js model.json (its modelTopology was taken) or a bare topology. */
  source?: 'model.json' | 'topology';
  /** Why the file was not taken, in words that say which file to choose instead. */
  error?: string;
}

const ROOT_CLASSES = new Set(['Sequential', 'Model', 'Functional']);
const WANTED = 'choose a TensorFlow.js layers model.json or a layers topology JSON file';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A layers topology names its model class at its root, or under `model_config` (Keras-converted files). */
function isLayersTopology(value: unknown): value is Record<string, unknown> {
  if (!isRecord(value)) return false;
  const root = isRecord(value.model_config) ? value.model_config : value;
  return typeof root.class_name === 'string' && ROOT_CLASSES.has(root.class_name);
}

/**
 * Takes the topology out of a file's text: a TensorFlow.js model.json gives its `modelTopology`, a bare
 * topology is taken as it is. Anything else is refused with the reason. The topology is then checked as
 * the user edits it, by the same schema as typed text (so a disallowed layer shows on the editor field).
 * Nothing in the file is run: a layers topology is data.
 */
export function topologyFromText(fileName: string, text: string): TopologyFileResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text) as unknown;
  } catch {
    return { error: `${fileName} is not JSON; ${WANTED}.` };
  }
  if (isRecord(parsed) && 'modelTopology' in parsed) {
    if (parsed.format === 'graph-model') {
      return {
        error: `${fileName} is a TensorFlow.js graph model, which has no layers topology; ${WANTED}.`,
      };
    }
    if (!isLayersTopology(parsed.modelTopology)) {
      return {
        error: `${fileName} is a model.json whose modelTopology is not a Sequential or functional layers model; ${WANTED}.`,
      };
    }
    return { topology: JSON.stringify(parsed.modelTopology, null, 2), source: 'model.json' };
  }
  if (!isLayersTopology(parsed)) {
    return {
      error: `${fileName} is JSON but not a model topology (no "modelTopology", and no "class_name" of Sequential, Model or Functional); ${WANTED}.`,
    };
  }
  return { topology: JSON.stringify(parsed, null, 2), source: 'topology' };
}

/** Reads a picked or dropped file as a topology (see `topologyFromText`). */
export async function readTopologyFile(file: File): Promise<TopologyFileResult> {
  if (file.size > MAX_TOPOLOGY_FILE_BYTES) {
    const mib = (file.size / 1024 / 1024).toFixed(1);
    return {
      error: `${file.name} is ${mib} MiB; a topology file is at most 2 MiB (weights are not needed: ${WANTED}).`,
    };
  }
  let text: string;
  try {
    text = await readText(file);
  } catch {
    return { error: `${file.name} could not be read; choose it again.` };
  }
  return topologyFromText(file.name, text);
}

/** FileReader rather than Blob.text(): the same in every browser the portal supports and in jsdom. */
function readText(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => {
      resolve(typeof reader.result === 'string' ? reader.result : '');
    };
    reader.onerror = () => {
      reject(reader.error ?? new Error(`cannot read ${file.name}`));
    };
    reader.readAsText(file);
  });
}
