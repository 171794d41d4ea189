import { createContext, useContext } from 'react';

import { tusUploadAdapter, type UploadAdapter } from './upload-adapter';

/** Which upload implementation the new-job page uses: tus in the app, a fake in page tests. */
export const UploadAdapterContext = createContext<UploadAdapter>(tusUploadAdapter);

export function useUploadAdapter(): UploadAdapter {
  return useContext(UploadAdapterContext);
}
