import { ApiProperty } from '@nestjs/swagger';
import { z } from 'zod';

export const loginSchema = z.strictObject({
  org: z.string().min(1).max(64),
  username: z.string().min(1).max(64),
  password: z.string().min(1).max(1024),
});

export const changePasswordSchema = z.strictObject({
  currentPassword: z.string().min(1).max(1024),
  newPassword: z.string().min(12, 'must be at least 12 characters').max(1024),
});

export class ChangePasswordDto {
  @ApiProperty({ format: 'password' }) currentPassword!: string;
  @ApiProperty({ format: 'password', minLength: 12 }) newPassword!: string;
}

export class LoginDto {
  @ApiProperty({ example: 'Org1', description: 'The org this gateway serves' })
  org!: string;
  @ApiProperty({ example: 'user1' })
  username!: string;
  @ApiProperty({ format: 'password' })
  password!: string;
}

export interface PublicUser {
  username: string;
  org: string;
  mspId: string;
  role: 'member' | 'admin';
  identityId: string;
  expiresAt: string;
}

export class SessionUserDto implements PublicUser {
  @ApiProperty() username!: string;
  @ApiProperty() org!: string;
  @ApiProperty() mspId!: string;
  @ApiProperty({ enum: ['member', 'admin'] }) role!: 'member' | 'admin';
  @ApiProperty({ description: 'The id the ledger sees for this user' }) identityId!: string;
  @ApiProperty({ format: 'date-time' }) expiresAt!: string;
}

export interface LoginResponse {
  token: string;
  user: PublicUser;
}

export class LoginResponseDto implements LoginResponse {
  @ApiProperty({ description: 'Opaque session token; send as `Authorization: Bearer <token>`' })
  token!: string;
  @ApiProperty({ type: SessionUserDto })
  user!: SessionUserDto;
}

export class ErrorDto {
  @ApiProperty() statusCode!: number;
  @ApiProperty({ example: 'INVALID_SPEC' }) code!: string;
  @ApiProperty() message!: string;
  @ApiProperty({ description: 'What to do about it' }) hint!: string;
}
