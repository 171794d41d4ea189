import { Body, Controller, Get, HttpCode, Inject, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { Response } from 'express';

import type { AppConfig } from '../config/config.schema';
import { APP_CONFIG } from '../config/config.tokens';
import {
  ChangePasswordDto,
  ErrorDto,
  LoginDto,
  LoginResponseDto,
  SessionUserDto,
  changePasswordSchema,
  loginSchema,
  type LoginResponse,
  type PublicUser,
} from '../dtos/auth.dto';
import { parseBody } from '../dtos/parse-body';
import {
  AdminOnly,
  CurrentUser,
  Public,
  SESSION_COOKIE,
  type AuthenticatedRequest,
} from '../middleware/auth.guard';
import { RateLimited } from '../middleware/rate-limit';
import type { SessionUser } from '../repositories/session.repository';
import { AuthService } from '../services/auth.service';
import { SignInBusyError } from '../services/kdf-limiter';
import { z } from 'zod';

const daySchema = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD');

@ApiTags('auth')
@Controller('api/auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Public()
  @RateLimited('login')
  @Post('login')
  @HttpCode(200)
  @ApiOperation({ summary: 'Sign in with user name and password; returns a session token and sets a cookie' })
  @ApiOkResponse({ type: LoginResponseDto })
  @ApiUnauthorizedResponse({ type: ErrorDto })
  async login(
    @Body() body: LoginDto,
    @Res({ passthrough: true }) response: Response,
  ): Promise<LoginResponse> {
    const { org, username, password } = parseBody(loginSchema, body, 'sign-in request');
    const result = await withRetryAfter(response, this.auth.login(org, username, password));
    response.cookie(SESSION_COOKIE, result.token, {
      httpOnly: true,
      sameSite: 'strict',
      secure: this.config.cookieSecure,
      path: '/',
      maxAge: this.config.sessionTtlSeconds * 1000,
    });
    return { token: result.token, user: publicUser(result.user) };
  }

  @Get('me')
  @ApiBearerAuth()
  @ApiOperation({ summary: 'The signed-in user' })
  @ApiOkResponse({ type: SessionUserDto })
  me(@CurrentUser() user: SessionUser): PublicUser {
    return publicUser(user);
  }

  @AdminOnly()
  @Get('audit')
  @ApiBearerAuth()
  @ApiOperation({
    summary: "Admins: the org gateway's audit log of one UTC day (?day=YYYY-MM-DD, default today)",
  })
  async audit(@Query('day') day: string | undefined): Promise<unknown[]> {
    return this.auth.auditLog(parseBody(daySchema, day ?? new Date().toISOString().slice(0, 10), 'day'));
  }

  @RateLimited('login')
  @Post('password')
  @HttpCode(204)
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Change your password (the initial one from users.json stops working)' })
  async changePassword(
    @CurrentUser() user: SessionUser,
    @Body() body: ChangePasswordDto,
    @Res({ passthrough: true }) response: Response,
  ): Promise<void> {
    const { currentPassword, newPassword } = parseBody(changePasswordSchema, body, 'password change');
    await withRetryAfter(response, this.auth.changePassword(user, currentPassword, newPassword));
  }

  @Post('logout')
  @HttpCode(204)
  @ApiBearerAuth()
  @ApiOperation({ summary: 'End the session' })
  async logout(
    @Req() request: AuthenticatedRequest,
    @Res({ passthrough: true }) response: Response,
  ): Promise<void> {
    if (request.sessionToken !== undefined) await this.auth.logout(request.sessionToken);
    response.clearCookie(SESSION_COOKIE, { path: '/' });
  }
}

/** A sign-in refused for overload tells the client when to come back (RFC 9110 Retry-After, seconds). */
async function withRetryAfter<T>(response: Response, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof SignInBusyError) response.setHeader('Retry-After', String(error.retryAfterSeconds));
    throw error;
  }
}

function publicUser(user: SessionUser): PublicUser {
  return {
    username: user.username,
    org: user.org,
    mspId: user.mspId,
    role: user.role,
    identityId: user.identityId,
    expiresAt: user.expiresAt,
  };
}
