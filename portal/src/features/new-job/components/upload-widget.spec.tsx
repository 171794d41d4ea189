import { createHash } from 'node:crypto';

import { act, render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';

import { ApiError } from '../../../lib/api-client';
import { computeMerkleDigest } from '../../../lib/merkle-digest';
import type { UploadAdapter, UploadCallbacks, UploadHandle } from '../api/upload-adapter';
import { UploadWidget, type UploadStatus } from './upload-widget';

/** A fake upload: the test drives progress, success and failure through the captured callbacks. */
function fakeAdapter() {
  const calls: { file: File; metadata: Record<string, string>; callbacks: UploadCallbacks }[] = [];
  const handle = {
    start: vi.fn<UploadHandle['start']>(),
    pause: vi.fn<UploadHandle['pause']>(() => Promise.resolve()),
    resume: vi.fn<UploadHandle['resume']>(),
    cancel: vi.fn<UploadHandle['cancel']>(() => Promise.resolve()),
  };
  const adapter: UploadAdapter = (file, metadata, callbacks) => {
    calls.push({ file, metadata, callbacks });
    return handle;
  };
  const callbacks = () => {
    const last = calls[calls.length - 1];
    if (last === undefined) throw new Error('the widget has not started an upload');
    return last.callbacks;
  };
  return { adapter, calls, handle, callbacks };
}

const MiB = 1024 * 1024;

function fileOf(size: number, name = 'train.csv'): File {
  return new File([new Uint8Array(size)], name, { type: 'text/csv' });
}

describe('UploadWidget', () => {
  it('sends the digest as tus metadata, then shows progress, rate and time left', async () => {
    const fake = fakeAdapter();
    let clock = 0;
    const digest = vi.fn(() => Promise.resolve('ab'.repeat(32)));
    render(
      <UploadWidget
        file={fileOf(10 * MiB)}
        role="data"
        blockSize={2 * MiB}
        adapter={fake.adapter}
        digest={digest}
        now={() => clock}
      />,
    );

    await waitFor(() => {
      expect(fake.handle.start).toHaveBeenCalledTimes(1);
    });
    expect(digest).toHaveBeenCalledWith(expect.any(File), expect.objectContaining({ blockSize: 2 * MiB }));
    expect(fake.calls[0]?.metadata).toEqual({
      filename: 'train.csv',
      filetype: 'text/csv',
      role: 'data',
      digest: 'ab'.repeat(32),
    });

    act(() => {
      fake.callbacks().onProgress(0, 10 * MiB);
    });
    clock = 2_000;
    act(() => {
      fake.callbacks().onProgress(4 * MiB, 10 * MiB);
    });
    const bar = screen.getByRole('progressbar', { name: 'Upload of Data file train.csv' });
    expect(bar).toHaveAttribute('value', '40');
    expect(screen.getByText('40%')).toBeInTheDocument();
    expect(screen.getByText('4.00 MiB of 10.0 MiB')).toBeInTheDocument();
    // 4 MiB in 2 s is 2 MiB/s; 6 MiB remain, so 3 s.
    expect(screen.getByText('Rate: 2.00 MiB/s')).toBeInTheDocument();
    expect(screen.getByText('Time left: 3 s')).toBeInTheDocument();
  });

  it('pauses and resumes the upload', async () => {
    const user = userEvent.setup();
    const fake = fakeAdapter();
    const statuses: UploadStatus[] = [];
    render(
      <UploadWidget
        file={fileOf(8 * MiB)}
        role="data"
        blockSize={4 * MiB}
        adapter={fake.adapter}
        digest={() => Promise.resolve('cd'.repeat(32))}
        onStatus={(s) => statuses.push(s)}
      />,
    );
    await waitFor(() => {
      expect(fake.handle.start).toHaveBeenCalled();
    });
    act(() => {
      fake.callbacks().onProgress(2 * MiB, 8 * MiB);
    });

    await user.click(screen.getByRole('button', { name: 'Pause' }));
    expect(fake.handle.pause).toHaveBeenCalledTimes(1);
    expect(await screen.findByText('Paused')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Pause' })).not.toBeInTheDocument();
    expect(statuses.at(-1)).toEqual({ phase: 'paused', sent: 2 * MiB });

    await user.click(screen.getByRole('button', { name: 'Resume' }));
    expect(fake.handle.resume).toHaveBeenCalledTimes(1);
    expect(screen.getByRole('button', { name: 'Pause' })).toBeInTheDocument();
    act(() => {
      fake.callbacks().onProgress(8 * MiB, 8 * MiB);
      fake.callbacks().onSuccess('upload-123');
    });
    expect(screen.getByText(/Uploaded and verified/)).toBeInTheDocument();
    expect(statuses.at(-1)).toEqual({ phase: 'done', uploadId: 'upload-123' });
  });

  it('shows what to do when the gateway refuses the upload, and offers to resume', async () => {
    const fake = fakeAdapter();
    render(
      <UploadWidget
        file={fileOf(MiB)}
        role="pretrained"
        blockSize={4 * MiB}
        adapter={fake.adapter}
        digest={() => Promise.resolve('ef'.repeat(32))}
      />,
    );
    await waitFor(() => {
      expect(fake.handle.start).toHaveBeenCalled();
    });
    act(() => {
      fake.callbacks().onError(
        new ApiError('The declared digest does not match the bytes received.', {
          status: 460,
          code: 'INTEGRITY',
          hint: 'Pick the file again to restart.',
        }),
      );
    });
    expect(screen.getByRole('alert')).toHaveTextContent(
      'The declared digest does not match the bytes received.',
    );
    expect(screen.getByRole('alert')).toHaveTextContent('Pick the file again to restart.');
    expect(screen.getByRole('button', { name: 'Resume' })).toBeInTheDocument();
  });

  it("computes the real block Merkle digest of the picked file over the gateway's block size", async () => {
    const fake = fakeAdapter();
    const bytes = new Uint8Array(3000).map((_, i) => (i * 7) % 256);
    const file = new File([bytes], 'blocks.bin');
    const blockSize = 1024;
    render(
      <UploadWidget
        file={file}
        role="data"
        blockSize={blockSize}
        adapter={fake.adapter}
        digest={computeMerkleDigest}
      />,
    );
    await waitFor(() => {
      expect(fake.handle.start).toHaveBeenCalled();
    });
    // Three leaves: root = H(1 || H(1 || L0 || L1) || L2).
    const h = (...parts: Uint8Array[]) => {
      const hash = createHash('sha256');
      for (const part of parts) hash.update(part);
      return new Uint8Array(hash.digest());
    };
    const leaf = (i: number) => h(Uint8Array.of(0), bytes.subarray(i * blockSize, (i + 1) * blockSize));
    const root = h(Uint8Array.of(1), h(Uint8Array.of(1), leaf(0), leaf(1)), leaf(2));
    expect(fake.calls[0]?.metadata.digest).toBe(Buffer.from(root).toString('hex'));
    expect(fake.calls[0]?.metadata.filetype).toBe('application/octet-stream');
  });
});
