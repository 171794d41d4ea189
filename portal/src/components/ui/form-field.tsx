import { useId, type ReactNode } from 'react';

export interface FieldControlProps {
  id: string;
  'aria-invalid': boolean;
  'aria-describedby': string | undefined;
}

/**
 * A labelled form control with its help and error text wired through aria-describedby, so screen readers
 * read the message that appears while the user types.
 */
export function FormField({
  label,
  help,
  errors,
  children,
}: {
  label: string;
  help?: ReactNode;
  errors: readonly string[];
  children: (control: FieldControlProps) => ReactNode;
}) {
  const id = useId();
  const helpId = `${id}-help`;
  const errorId = `${id}-error`;
  const describedBy = [help === undefined ? undefined : helpId, errors.length > 0 ? errorId : undefined]
    .filter((part): part is string => part !== undefined)
    .join(' ');
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children({
        id,
        'aria-invalid': errors.length > 0,
        'aria-describedby': describedBy === '' ? undefined : describedBy,
      })}
      {help !== undefined && (
        <p className="field-help" id={helpId}>
          {help}
        </p>
      )}
      {errors.length > 0 && (
        <p className="field-error" id={errorId}>
          {errors.join('; ')}
        </p>
      )}
    </div>
  );
}
