import type { ReactNode } from 'react';

/** What an empty page means and the first step to fill it. */
export function EmptyState({
  title,
  children,
  action,
}: {
  title: string;
  children: ReactNode;
  action?: ReactNode;
}) {
  return (
    <section className="empty-state" aria-label={title}>
      <h2>{title}</h2>
      <div>{children}</div>
      {action}
    </section>
  );
}
