import { fireEvent, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';

import { FileDropZone } from './file-drop-zone';

describe('FileDropZone', () => {
  it('takes files dropped on it, one only when not multiple', () => {
    const onFiles = vi.fn<(files: File[]) => void>();
    render(<FileDropZone label="Pre-trained model" help="A zip." multiple={false} onFiles={onFiles} />);
    const zone = screen.getByLabelText('Pre-trained model').closest('.drop-zone');
    expect(zone).not.toBeNull();
    const files = [new File(['a'], 'a.zip'), new File(['b'], 'b.zip')];
    fireEvent.dragOver(zone as Element, { dataTransfer: { files } });
    expect(zone).toHaveClass('dragging');
    fireEvent.drop(zone as Element, { dataTransfer: { files } });
    expect(zone).not.toHaveClass('dragging');
    expect(onFiles).toHaveBeenCalledWith([files[0]]);
  });

  it('takes files from the picker', async () => {
    const onFiles = vi.fn<(files: File[]) => void>();
    render(<FileDropZone label="Data files" help="CSV." multiple onFiles={onFiles} />);
    const files = [new File(['x'], 'x.csv'), new File(['y'], 'y.csv')];
    await userEvent.setup().upload(screen.getByLabelText('Data files'), files);
    expect(onFiles).toHaveBeenCalledWith(files);
    expect(screen.getByLabelText('Data files')).toHaveAccessibleDescription(
      'CSV. Drop files here or choose them.',
    );
  });
});
