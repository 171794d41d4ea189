import { Link } from 'react-router';

import { EmptyState } from '../components/ui/empty-state';

export function NotFoundPage() {
  return (
    <EmptyState title="Page not found" action={<Link to="/jobs">Go to your jobs</Link>}>
      <p>This address does not match any page. Check the link, or start from the jobs list.</p>
    </EmptyState>
  );
}
