import { describeError } from '../../lib/api-client';

/** An API or client error as a message plus what to do about it; announced to screen readers. */
export function ErrorMessage({
  error,
  title,
  onRetry,
}: {
  error: unknown;
  title?: string;
  onRetry?: () => void;
}) {
  const { message, hint } = describeError(error);
  return (
    <div className="notice notice-error" role="alert">
      <p className="notice-title">{title ?? message}</p>
      {title !== undefined && <p>{message}</p>}
      <p>{hint}</p>
      {onRetry !== undefined && (
        <button type="button" className="button button-secondary" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}
