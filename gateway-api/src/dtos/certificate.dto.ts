import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

import { ActorDto } from './job-view.dto';

export class CertificateDto {
  @ApiProperty() tokenId!: string;
  @ApiProperty() jobId!: string;
  @ApiProperty({ type: ActorDto, description: 'The holder' }) owner!: ActorDto;
  @ApiProperty({ enum: ['owner', 'trainer', 'winning-trainer', 'validator', 'data-contributor'] })
  role!: string;
  @ApiProperty({ type: ActorDto }) issuer!: ActorDto;
  @ApiProperty({ description: 'Where the metadata JSON (and its SVG badge beside it) is stored' })
  tokenUri!: string;
  @ApiProperty({ type: [String] }) trialIds!: string[];
  @ApiProperty({ format: 'date-time' }) issuedAt!: string;
  @ApiProperty() revoked!: boolean;
  @ApiPropertyOptional({ format: 'date-time' }) revokedAt?: string;
  @ApiPropertyOptional({ type: ActorDto }) revokedBy?: ActorDto;
  @ApiPropertyOptional() revokedReason?: string;
}

export class CertificateVerificationDto {
  @ApiProperty() tokenId!: string;
  @ApiProperty({ description: 'Whether the ledger ever minted this token id' }) onLedger!: boolean;
  @ApiProperty({ description: 'On the ledger and not revoked' }) valid!: boolean;
  @ApiPropertyOptional({ type: CertificateDto }) certificate?: CertificateDto;
}
