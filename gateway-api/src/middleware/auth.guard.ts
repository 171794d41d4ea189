import {
  Injectable,
  SetMetadata,
  createParamDecorator,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';

import { ForbiddenError, UnauthenticatedError } from '../errors/gateway.errors';
import type { SessionUser } from '../repositories/session.repository';
import { AuthService } from '../services/auth.service';

export const SESSION_COOKIE = 'decenter_session';
const PUBLIC_KEY = 'decenter:public';
const ADMIN_KEY = 'decenter:admin';

/** Marks a route that needs no session (sign-in, health, docs). */
export const Public = () => SetMetadata(PUBLIC_KEY, true);
/** Marks a route only the org's admins may call. */
export const AdminOnly = () => SetMetadata(ADMIN_KEY, true);

export interface AuthenticatedRequest extends Request {
  user?: SessionUser;
  sessionToken?: string;
}

/** The signed-in user of the request (set by `AuthGuard`). */
export const CurrentUser = createParamDecorator((_data: unknown, context: ExecutionContext): SessionUser => {
  const user = context.switchToHttp().getRequest<AuthenticatedRequest>().user;
  if (user === undefined) throw new UnauthenticatedError();
  return user;
});

/** Reads the session token from `Authorization: Bearer` or, for the portal, the HttpOnly session cookie. */
export function sessionTokenOf(request: Pick<Request, 'headers'>): string | undefined {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer\s+([A-Za-z0-9_-]{16,128})$/.exec(header.trim());
    return match?.[1];
  }
  const cookies = request.headers.cookie;
  if (cookies === undefined) return undefined;
  for (const part of cookies.split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === SESSION_COOKIE) return rest.join('=');
  }
  return undefined;
}

/** Global guard: every route needs a valid session unless marked `@Public()`. */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly auth: AuthService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean | undefined>(PUBLIC_KEY, targets) === true) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const token = sessionTokenOf(request);
    if (token === undefined || token === '') throw new UnauthenticatedError('This request needs a session.');
    request.user = await this.auth.authenticate(token);
    request.sessionToken = token;
    if (this.reflector.getAllAndOverride<boolean | undefined>(ADMIN_KEY, targets) === true) {
      if (request.user.role !== 'admin') throw new ForbiddenError('Only an admin of your org may do this.');
    }
    return true;
  }
}
