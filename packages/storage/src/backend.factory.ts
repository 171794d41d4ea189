import type { DecenterErrorOptions } from '@decenter/core';

import { StorageError } from './errors';
import { LocalDiskBackend } from './local-disk.backend';
import type { StorageBackend } from './storage-backend';

/** The object stores a deployment can select with STORAGE_BACKEND. */
export const STORAGE_BACKENDS = ['local', 'greenfield'] as const;
export type StorageBackendKind = (typeof STORAGE_BACKENDS)[number];

/** A backend chosen at start-up, with the URI scheme its storage URIs carry and how to release it. */
export interface SelectedStorageBackend {
  kind: StorageBackendKind;
  backend: StorageBackend;
  /** Ends connections and worker threads the backend holds (a no-op for local disk). */
  close(): Promise<void>;
}

/** The one thing used from the optional GPL package; typed here so nothing depends on it at build time. */
interface GreenfieldModule {
  GreenfieldBackend: {
    fromEnv(
      env: Readonly<Record<string, string | undefined>>,
    ): Promise<StorageBackend & { close(): Promise<void> }>;
  };
}

/** Raised when STORAGE_BACKEND names no known backend or the selected one cannot be loaded. */
export class StorageBackendConfigError extends StorageError {
  override readonly name: string = 'StorageBackendConfigError';

  constructor(message: string, options: DecenterErrorOptions) {
    super('FAILED_PRECONDITION', message, options);
  }
}

function isModuleNotFound(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'MODULE_NOT_FOUND';
}

/**
 * Builds the backend STORAGE_BACKEND selects: `local` (the default, files under `localRoot`) or `greenfield`
 * (BNB Greenfield, configured by the GREENFIELD_* variables). The Greenfield package links a GPL-3.0 SDK, so
 * it is loaded only here, only when selected, through a specifier tsc does not follow: nothing depends on it
 * at build time, and an operator who wants it installs and builds it explicitly.
 */
export async function createStorageBackend(
  env: Readonly<Record<string, string | undefined>>,
  localRoot: string,
): Promise<SelectedStorageBackend> {
  const kind = env['STORAGE_BACKEND'] ?? 'local';
  if (kind === 'local') {
    return { kind, backend: new LocalDiskBackend(localRoot), close: () => Promise.resolve() };
  }
  if (kind !== 'greenfield') {
    throw new StorageBackendConfigError(
      `STORAGE_BACKEND must be one of ${STORAGE_BACKENDS.join(', ')}, not "${kind}"`,
      {
        hint: 'Leave it unset for local disk, or set STORAGE_BACKEND=greenfield with the GREENFIELD_* variables.',
      },
    );
  }
  const specifier = '@decenter/storage-greenfield';
  let loaded: GreenfieldModule;
  try {
    loaded = (await import(specifier)) as GreenfieldModule;
  } catch (error) {
    if (!isModuleNotFound(error)) throw error;
    throw new StorageBackendConfigError(
      'STORAGE_BACKEND=greenfield but @decenter/storage-greenfield is not installed',
      {
        hint: 'Build it with `npx tsc -b packages/storage-greenfield` (or install it), or leave STORAGE_BACKEND unset.',
        cause: error,
      },
    );
  }
  const backend = await loaded.GreenfieldBackend.fromEnv(env);
  return { kind, backend, close: () => backend.close() };
}
