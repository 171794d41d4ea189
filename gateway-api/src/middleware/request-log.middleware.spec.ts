import { redact, redactUrl } from './request-log.middleware';

describe('redaction of secrets in logs', () => {
  it('replaces secret-looking fields at any depth', () => {
    expect(
      redact({
        headers: { Authorization: 'Bearer abc', cookie: 'decenter_session=abc', accept: 'json' },
        body: { username: 'u', password: 'p', nested: [{ privateKey: 'k', token: 't' }] },
      }),
    ).toEqual({
      headers: { Authorization: '[REDACTED]', cookie: '[REDACTED]', accept: 'json' },
      body: {
        username: 'u',
        password: '[REDACTED]',
        nested: [{ privateKey: '[REDACTED]', token: '[REDACTED]' }],
      },
    });
  });

  it('masks tokens in query strings', () => {
    expect(redactUrl('/api/jobs/1/events?token=secret&x=1')).toBe('/api/jobs/1/events?token=[REDACTED]&x=1');
    expect(redactUrl('/api/jobs?status=OPEN')).toBe('/api/jobs?status=OPEN');
  });
});
