import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useMemo, useState } from 'react';
import { describe, expect, it } from 'vitest';

import { defaultSpecFields, validateSpecFields, type SpecFields } from '../utils/spec-fields';
import { SpecForm } from './spec-form';

// The page computes the validation and hands it to the form; this harness does the same.
function Harness({ initial }: { initial?: Partial<SpecFields> }) {
  const [fields, setFields] = useState<SpecFields>({
    ...defaultSpecFields(new Date('2026-11-22T10:00:00Z')),
    ...initial,
  });
  const validation = useMemo(() => validateSpecFields(fields), [fields]);
  return (
    <>
      <SpecForm fields={fields} issues={validation.issues} onChange={setFields} showAllErrors={false} />
      <output data-testid="valid">{validation.spec === undefined ? 'invalid' : 'valid'}</output>
    </>
  );
}

describe('SpecForm', () => {
  it('shows no error before the user types, then field messages as they type', async () => {
    const user = userEvent.setup();
    render(<Harness />);
    const name = screen.getByLabelText('Name');
    expect(name).toHaveAttribute('aria-invalid', 'false');
    expect(screen.queryByText('must not be empty')).not.toBeInTheDocument();

    await user.type(name, 'x');
    await user.clear(name);
    expect(name).toHaveAttribute('aria-invalid', 'true');
    expect(name).toHaveAccessibleDescription('must not be empty');

    await user.type(name, 'Iris species');
    expect(name).toHaveAttribute('aria-invalid', 'false');

    const label = screen.getByLabelText('Label column');
    await user.type(label, 's');
    await user.clear(label);
    expect(screen.getByText('CSV data needs the name of its label column')).toBeInTheDocument();
    await user.type(label, 'species');
    expect(screen.queryByText('CSV data needs the name of its label column')).not.toBeInTheDocument();
    expect(screen.getByTestId('valid')).toHaveTextContent('valid');
  });

  it('reports a word in a list of numbers on the element it belongs to', async () => {
    const user = userEvent.setup();
    render(<Harness initial={{ name: 'n', label: 'y' }} />);
    const units = screen.getByLabelText('Hidden units');
    await user.type(units, ', many');
    expect(units).toHaveAccessibleDescription(expect.stringContaining('[2]: must be a number'));
    expect(screen.getByTestId('valid')).toHaveTextContent('invalid');
  });

  it('offers the mlp and cnn templates with their own options and checks them against the data', async () => {
    const user = userEvent.setup();
    render(<Harness initial={{ name: 'n', label: 'y' }} />);
    const template = screen.getByLabelText('Template');
    expect(
      within(template)
        .getAllByRole('option')
        .map((o) => o.textContent),
    ).toEqual(['mlp', 'cnn']);
    expect(screen.getByLabelText('Hidden units')).toBeInTheDocument();

    await user.selectOptions(template, 'cnn');
    expect(screen.queryByLabelText('Hidden units')).not.toBeInTheDocument();
    expect(screen.getByLabelText('Filters')).toHaveValue('32, 64');
    expect(screen.getByLabelText('Kernel size')).toBeInTheDocument();
    expect(template).toHaveAccessibleDescription(
      expect.stringContaining('the cnn template needs image data'),
    );

    await user.selectOptions(screen.getByLabelText('Format'), 'idx');
    expect(template).toHaveAttribute('aria-invalid', 'false');
    expect(screen.getByTestId('valid')).toHaveTextContent('valid');
  });

  it('refuses a Lambda layer in the custom topology editor', async () => {
    const user = userEvent.setup();
    render(<Harness initial={{ name: 'n', label: 'y' }} />);
    await user.click(screen.getByLabelText('Custom topology (JSON)'));
    const editor = screen.getByLabelText('Topology JSON');
    expect(screen.getByTestId('valid')).toHaveTextContent('valid');

    await user.clear(editor);
    await user.click(editor);
    await user.paste(
      JSON.stringify({
        class_name: 'Sequential',
        config: {
          layers: [
            { class_name: 'Dense', config: { units: 4 } },
            { class_name: 'Lambda', config: {} },
          ],
        },
      }),
    );
    expect(editor).toHaveAttribute('aria-invalid', 'true');
    expect(editor).toHaveAccessibleDescription(
      expect.stringContaining(
        'config.layers[1].class_name: "Lambda": Lambda layers carry code and are never accepted',
      ),
    );
    expect(screen.getByTestId('valid')).toHaveTextContent('invalid');
  });

  it('explains topology text that is not JSON', async () => {
    const user = userEvent.setup();
    render(<Harness initial={{ name: 'n', label: 'y', modelKind: 'topology' }} />);
    const editor = screen.getByLabelText('Topology JSON');
    await user.clear(editor);
    await user.click(editor);
    await user.paste('{"class_name": "Sequential",');
    expect(editor).toHaveAccessibleDescription(expect.stringContaining('not valid JSON'));
  });

  it('checks the metric against the task', async () => {
    const user = userEvent.setup();
    render(<Harness initial={{ name: 'n', label: 'y' }} />);
    await user.selectOptions(screen.getByLabelText('Task'), 'regression');
    expect(screen.getByLabelText('Objective metric')).toHaveAccessibleDescription(
      expect.stringContaining('"accuracy" does not fit a regression task'),
    );
    await user.selectOptions(screen.getByLabelText('Objective metric'), 'rmse');
    expect(screen.getByTestId('valid')).toHaveTextContent('valid');
  });
});
