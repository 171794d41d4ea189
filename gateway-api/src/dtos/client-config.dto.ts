import { DIGEST_ALGORITHM } from '@decenter/core';
import { ApiProperty } from '@nestjs/swagger';

export interface UploadSettings {
  blockSize: number;
  shardSize: number;
  maxFileBytes: number;
  maxUserBytes: number;
  digest: typeof DIGEST_ALGORITHM;
}

export interface ClientConfig {
  org: string;
  mspId: string;
  uploads: UploadSettings;
}

export class UploadSettingsDto implements UploadSettings {
  @ApiProperty({
    example: 4194304,
    description:
      'Bytes per leaf of the upload digest: hash the file in blocks of this size, or the gateway refuses it',
  })
  blockSize!: number;
  @ApiProperty({ example: 2147483648, description: 'Files over this many bytes are stored as shards' })
  shardSize!: number;
  @ApiProperty({ description: 'The largest file one upload may hold (UPLOAD_MAX_FILE_BYTES)' })
  maxFileBytes!: number;
  @ApiProperty({ description: "The bytes one user's uploads may hold at once (UPLOAD_MAX_USER_BYTES)" })
  maxUserBytes!: number;
  @ApiProperty({
    enum: [DIGEST_ALGORITHM],
    description: 'The tus `digest` metadata: RFC 6962 Merkle tree hash, SHA-256, over blockSize blocks',
  })
  digest!: typeof DIGEST_ALGORITHM;
}

export class ClientConfigDto implements ClientConfig {
  @ApiProperty({ example: 'Org1', description: 'The org this gateway serves' }) org!: string;
  @ApiProperty({ example: 'Org1MSP' }) mspId!: string;
  @ApiProperty({ type: UploadSettingsDto }) uploads!: UploadSettingsDto;
}
