import { NavLink, Outlet, useNavigate } from 'react-router';

import { useLogout, useUser } from '../../lib/auth';

const NAV = [
  { to: '/jobs', label: 'Jobs', end: true },
  { to: '/jobs/new', label: 'New job', end: true },
  { to: '/certificates', label: 'Certificates', end: false },
  { to: '/nodes', label: 'Nodes', end: false },
  { to: '/ledger', label: 'Ledger', end: false },
] as const;

/** Header with who is signed in, the main navigation and the page; landmarks for assistive technology. */
export function AppLayout() {
  const user = useUser().data;
  const logout = useLogout();
  const navigate = useNavigate();
  return (
    <div className="app">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="app-header">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true">
            ◆
          </span>
          DeCenter
        </div>
        <nav aria-label="Main">
          <ul className="nav-list">
            {NAV.map((item) => (
              <li key={item.to}>
                <NavLink to={item.to} end={item.end} className="nav-link">
                  {item.label}
                </NavLink>
              </li>
            ))}
          </ul>
        </nav>
        {user != null && (
          <div className="user-box" aria-label="Signed-in user">
            <span className="user-name">{user.username}</span>
            <span className="user-meta">
              {user.org} · {user.mspId} · <span className="role">{user.role}</span>
            </span>
            <button
              type="button"
              className="button button-secondary"
              disabled={logout.isPending}
              onClick={() => {
                logout.mutate(undefined, {
                  onSettled: () => {
                    void navigate('/sign-in');
                  },
                });
              }}
            >
              Sign out
            </button>
          </div>
        )}
      </header>
      <main id="main" tabIndex={-1}>
        <Outlet />
      </main>
      <footer className="app-footer">
        <p>Every result shown here is recorded on the consortium ledger.</p>
      </footer>
    </div>
  );
}
