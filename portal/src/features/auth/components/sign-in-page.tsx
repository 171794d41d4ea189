import { useId, useState, type SyntheticEvent } from 'react';
import { Navigate, useNavigate, useSearchParams } from 'react-router';

import { ErrorMessage } from '../../../components/ui/error-message';
import { useLogin, useUser } from '../../../lib/auth';

/** Only same-site paths are followed after sign-in, so a crafted link cannot send the user elsewhere. */
function safeRedirect(value: string | null): string {
  return value?.startsWith('/') === true && !value.startsWith('//') ? value : '/jobs';
}

export function SignInPage() {
  const [params] = useSearchParams();
  const redirectTo = safeRedirect(params.get('redirectTo'));
  const navigate = useNavigate();
  const user = useUser();
  const login = useLogin();
  const [org, setOrg] = useState('');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const ids = { org: useId(), username: useId(), password: useId() };

  if (user.data != null) return <Navigate to={redirectTo} replace />;

  const onSubmit = (event: SyntheticEvent) => {
    event.preventDefault();
    login.mutate(
      { org: org.trim(), username: username.trim(), password },
      {
        onSuccess: () => {
          void navigate(redirectTo, { replace: true });
        },
      },
    );
  };

  return (
    <main id="main" className="sign-in">
      <div className="card sign-in-card">
        <h1>Sign in to DeCenter</h1>
        <p className="muted">Use the account your organization's gateway gave you.</p>
        <form onSubmit={onSubmit} className="form">
          <div className="field">
            <label htmlFor={ids.org}>Organization</label>
            <input
              id={ids.org}
              name="org"
              autoComplete="organization"
              placeholder="Org1"
              required
              value={org}
              onChange={(e) => {
                setOrg(e.target.value);
              }}
            />
          </div>
          <div className="field">
            <label htmlFor={ids.username}>User name</label>
            <input
              id={ids.username}
              name="username"
              autoComplete="username"
              required
              value={username}
              onChange={(e) => {
                setUsername(e.target.value);
              }}
            />
          </div>
          <div className="field">
            <label htmlFor={ids.password}>Password</label>
            <input
              id={ids.password}
              name="password"
              type="password"
              autoComplete="current-password"
              required
              value={password}
              onChange={(e) => {
                setPassword(e.target.value);
              }}
            />
          </div>
          {login.isError && <ErrorMessage error={login.error} title="Sign-in failed" />}
          <button type="submit" className="button" disabled={login.isPending}>
            {login.isPending ? 'Signing in…' : 'Sign in'}
          </button>
        </form>
        <p className="muted small">
          On a development consortium started with <code>decenter up</code>, each org's users and their first
          passwords are in <code>$DECENTER_HOME/&lt;org&gt;/users.json</code>.
        </p>
      </div>
    </main>
  );
}
