import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import axe from 'axe-core';
import { useMemo, useState } from 'react';
import { describe, expect, it } from 'vitest';

import { defaultSpecFields, validateSpecFields, type SpecFields } from '../utils/spec-fields';
import { SpecForm } from './spec-form';

// The form as the page uses it: fields in state, validated on every change.
function Harness() {
  const [fields, setFields] = useState<SpecFields>({
    ...defaultSpecFields(new Date('2026-11-22T10:00:00Z')),
    name: 'n',
    label: 'y',
    modelKind: 'topology',
  });
  const validation = useMemo(() => validateSpecFields(fields), [fields]);
  return (
    <>
      <SpecForm fields={fields} issues={validation.issues} onChange={setFields} showAllErrors={false} />
      <output data-testid="valid">{validation.spec === undefined ? 'invalid' : 'valid'}</output>
    </>
  );
}

const TOPOLOGY = {
  class_name: 'Sequential',
  config: {
    name: 'from-file',
    layers: [
      { class_name: 'Dense', config: { units: 8, activation: 'relu', batch_input_shape: [null, 4] } },
      { class_name: 'Dense', config: { units: 3, activation: 'softmax' } },
    ],
  },
};

function jsonFile(name: string, value: unknown): File {
  return new File([JSON.stringify(value)], name, { type: 'application/json' });
}

describe('topology file picker in the new-job form', () => {
  it('fills the editor with the modelTopology of a picked model.json, which validates', async () => {
    const user = userEvent.setup();
    render(<Harness />);
    const modelJson = { format: 'layers-model', modelTopology: TOPOLOGY, weightsManifest: [] };
    await user.upload(screen.getByLabelText('Topology file'), jsonFile('model.json', modelJson));
    const editor = screen.getByLabelText('Topology JSON');
    await waitFor(() => {
      expect(JSON.parse((editor as HTMLTextAreaElement).value)).toEqual(TOPOLOGY);
    });
    expect(screen.getByText('Loaded the modelTopology of model.json into the editor.')).toHaveAttribute(
      'role',
      'status',
    );
    expect(editor).toHaveAttribute('aria-invalid', 'false');
    expect(screen.getByTestId('valid')).toHaveTextContent('valid');
    expect(screen.queryByRole('alert')).not.toBeInTheDocument();
  });

  it('takes a dropped bare topology and checks it with the same schema as typed text', async () => {
    render(<Harness />);
    const zone = screen.getByLabelText('Topology file').closest('.drop-zone');
    expect(zone).not.toBeNull();
    const lambda = {
      class_name: 'Sequential',
      config: {
        layers: [
          { class_name: 'Dense', config: { units: 4 } },
          { class_name: 'Lambda', config: {} },
        ],
      },
    };
    fireEvent.drop(zone as Element, { dataTransfer: { files: [jsonFile('evil.json', lambda)] } });
    const editor = screen.getByLabelText('Topology JSON');
    await waitFor(() => {
      expect(editor).toHaveAttribute('aria-invalid', 'true');
    });
    expect(editor).toHaveAccessibleDescription(
      expect.stringContaining('"Lambda": Lambda layers carry code and are never accepted'),
    );
    expect(screen.getByTestId('valid')).toHaveTextContent('invalid');
  });

  it('refuses a file that holds no topology with a clear error and leaves the editor as it was', async () => {
    const user = userEvent.setup();
    render(<Harness />);
    const editor = screen.getByLabelText('Topology JSON');
    const before = (editor as HTMLTextAreaElement).value;
    // Dropped, since the picker only offers .json files: a drop can bring anything.
    const zone = screen.getByLabelText('Topology file').closest('.drop-zone');
    const csv = new File(['species,petal\nsetosa,1.4\n'], 'iris.csv', { type: 'text/csv' });
    fireEvent.drop(zone as Element, { dataTransfer: { files: [csv] } });
    expect(await screen.findByRole('alert')).toHaveTextContent(
      'iris.csv is not JSON; choose a TensorFlow.js layers model.json or a layers topology JSON file.',
    );
    expect(editor).toHaveValue(before);

    await user.upload(screen.getByLabelText('Topology file'), jsonFile('spec.json', { name: 'a job spec' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('spec.json is JSON but not a model topology');
    expect(editor).toHaveValue(before);
    expect(screen.getByTestId('valid')).toHaveTextContent('valid');
  });

  it('passes axe with the picker shown and with its error shown', async () => {
    const { container } = render(<Harness />);
    const serious = async () =>
      (await axe.run(container)).violations
        .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
        .map((violation) => violation.id);
    expect(await serious()).toEqual([]);
    const zone = screen.getByLabelText('Topology file').closest('.drop-zone');
    fireEvent.drop(zone as Element, { dataTransfer: { files: [new File(['x'], 'x.txt')] } });
    await screen.findByRole('alert');
    expect(await serious()).toEqual([]);
  });
});
