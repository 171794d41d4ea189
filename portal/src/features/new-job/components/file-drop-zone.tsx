import { useId, useState, type DragEvent } from 'react';

/** A file picker that also accepts files dropped on it; the input stays the accessible way in. */
export function FileDropZone({
  label,
  help,
  accept,
  multiple,
  onFiles,
}: {
  label: string;
  help: string;
  accept?: string;
  multiple: boolean;
  onFiles: (files: File[]) => void;
}) {
  const id = useId();
  const [dragging, setDragging] = useState(false);
  const onDrop = (event: DragEvent<HTMLDivElement>) => {
    event.preventDefault();
    setDragging(false);
    const files = Array.from(event.dataTransfer.files);
    if (files.length > 0) onFiles(multiple ? files : files.slice(0, 1));
  };
  return (
    <div
      className={`drop-zone${dragging ? ' dragging' : ''}`}
      onDragOver={(event) => {
        event.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => {
        setDragging(false);
      }}
      onDrop={onDrop}
      data-testid={`drop-${id}`}
    >
      <label htmlFor={id}>
        <strong>{label}</strong>
      </label>
      <p className="small muted" id={`${id}-help`}>
        {help} Drop files here or choose them.
      </p>
      <input
        id={id}
        type="file"
        accept={accept}
        multiple={multiple}
        aria-describedby={`${id}-help`}
        onChange={(event) => {
          const files = Array.from(event.target.files ?? []);
          if (files.length > 0) onFiles(files);
          // Let the user pick the same file again after removing it.
          event.target.value = '';
        }}
      />
    </div>
  );
}
