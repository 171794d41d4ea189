import { createProgressBar, renderProgress } from './progress-bar';

describe('progress bar', () => {
  it('renders label, bar, percent and counts', () => {
    expect(renderProgress('upload', 5, 10, 10)).toBe('upload [#####-----]  50% 5/10');
    expect(renderProgress('upload', 12, 10, 4)).toBe('upload [####] 100% 12/10');
  });

  it('redraws in place on a terminal and ends the line when finished', () => {
    const writes: string[] = [];
    const bar = createProgressBar({
      total: 4,
      label: 'x',
      stream: { write: (t: string) => writes.push(t) },
      enabled: true,
      width: 4,
    });
    bar.update(1);
    bar.finish();
    bar.update(2);
    expect(writes).toEqual(['\rx [#---]  25% 1/4', '\rx [####] 100% 4/4', '\n']);
  });

  it('writes nothing when disabled (no terminal, or --json)', () => {
    const writes: string[] = [];
    const bar = createProgressBar({
      total: 4,
      label: 'x',
      stream: { write: (t: string) => writes.push(t) },
      enabled: false,
    });
    bar.update(1);
    bar.finish();
    expect(writes).toEqual([]);
  });
});
