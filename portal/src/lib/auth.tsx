import { ROLES } from '@decenter/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, type ReactNode } from 'react';
import { Navigate, useLocation } from 'react-router';
import { z } from 'zod';

import { ErrorMessage } from '../components/ui/error-message';
import { ApiError, apiRequest, onUnauthorized } from './api-client';

export const userSchema = z.object({
  username: z.string().min(1),
  org: z.string().min(1),
  mspId: z.string().min(1),
  role: z.enum(ROLES),
  /** The X.509 id the ledger records for this user (`Actor.id`): owner of their jobs. */
  identityId: z.string().optional(),
});
export type User = z.infer<typeof userSchema>;

export const loginResponseSchema = z.object({ token: z.string().min(1), user: userSchema });
const meResponseSchema = z.union([userSchema, z.object({ user: userSchema }).transform((r) => r.user)]);

export interface LoginInput {
  org: string;
  username: string;
  password: string;
}

const ME_KEY = ['auth', 'me'] as const;

/** The signed-in user, or null. The session lives in the gateway's HttpOnly cookie, never in script. */
export function useUser() {
  return useQuery({
    queryKey: ME_KEY,
    queryFn: async ({ signal }): Promise<User | null> => {
      try {
        return await apiRequest('/api/auth/me', { schema: meResponseSchema, signal });
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) return null;
        throw error;
      }
    },
    staleTime: 60_000,
    retry: false,
  });
}

export function useLogin() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (input: LoginInput) =>
      apiRequest('/api/auth/login', { method: 'POST', body: input, schema: loginResponseSchema }),
    onSuccess: (result) => {
      queryClient.setQueryData(ME_KEY, result.user);
    },
  });
}

export function useLogout() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () => apiRequest('/api/auth/logout', { method: 'POST', schema: z.unknown() }),
    onSettled: () => {
      queryClient.clear();
      queryClient.setQueryData(ME_KEY, null);
    },
  });
}

/** Drops the cached user whenever any request meets a 401, so the guard sends the user to sign in. */
export function useSessionExpiry(): void {
  const queryClient = useQueryClient();
  useEffect(
    () =>
      onUnauthorized(() => {
        queryClient.setQueryData(ME_KEY, null);
      }),
    [queryClient],
  );
}

export function RequireAuth({ children, fallback }: { children: ReactNode; fallback: ReactNode }) {
  const location = useLocation();
  const user = useUser();
  useSessionExpiry();
  if (user.isPending) return fallback;
  if (user.isError) return <ErrorMessage error={user.error} title="Your session could not be checked" />;
  if (user.data === null) {
    const redirectTo = `${location.pathname}${location.search}`;
    return <Navigate to={`/sign-in?redirectTo=${encodeURIComponent(redirectTo)}`} replace />;
  }
  return children;
}
