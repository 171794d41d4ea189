import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { z } from 'zod';

const uploadId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,128}$/, 'must be an upload id returned by POST /api/uploads');

export const submitJobSchema = z.strictObject({
  spec: z.unknown(),
  uploads: z.strictObject({
    data: z.array(uploadId).min(1, 'name at least one data upload').max(16),
    /** model.json and its weight files; a single id is accepted too. */
    pretrained: z.union([uploadId.transform((id) => [id]), z.array(uploadId).min(1).max(64)]).optional(),
  }),
});

export const listJobsQuerySchema = z.strictObject({
  status: z.enum(['OPEN', 'TRAINING', 'VALIDATING', 'COMPLETED', 'FAILED', 'CANCELLED']).optional(),
  owner: z.string().min(1).max(1024).optional(),
  bookmark: z.string().max(1024).optional(),
  pageSize: z.coerce.number().int().min(1).max(100).optional(),
});

export const cancelJobSchema = z.strictObject({ reason: z.string().max(500).default('') });

export const jobIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'is not a job id');

export class SubmitJobUploadsDto {
  @ApiProperty({ type: [String], description: 'Completed tus upload ids of the data files' })
  data!: string[];
  @ApiPropertyOptional({
    type: [String],
    description:
      'Completed tus upload ids of a pre-trained model: its model.json and the weight files it names',
  })
  pretrained?: string[];
}

export class SubmitJobDto {
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'Job spec (docs/users.md)' })
  spec!: Record<string, unknown>;
  @ApiProperty({ type: SubmitJobUploadsDto })
  uploads!: SubmitJobUploadsDto;
}

export interface SubmitJobResponse {
  jobId: string;
  status: 'QUEUED';
  ingestUrl: string;
}

export class SubmitJobResponseDto implements SubmitJobResponse {
  @ApiProperty() jobId!: string;
  @ApiProperty({ enum: ['QUEUED'] }) status!: 'QUEUED';
  @ApiProperty({ description: 'Where to follow the ingest' }) ingestUrl!: string;
}

export class CancelJobDto {
  @ApiPropertyOptional({ maxLength: 500 }) reason?: string;
}

export class IngestFailureDto {
  @ApiProperty() code!: string;
  @ApiProperty() message!: string;
  @ApiPropertyOptional() hint?: string;
  @ApiPropertyOptional() file?: string;
  @ApiPropertyOptional() line?: number;
  @ApiPropertyOptional() column?: number;
}

export class IngestStatusDto {
  @ApiProperty() jobId!: string;
  @ApiProperty({ enum: ['waiting', 'active', 'delayed', 'completed', 'failed', 'unknown'] }) state!: string;
  @ApiProperty({ description: 'stage and percent' }) progress!: Record<string, unknown>;
  @ApiProperty() attempts!: number;
  @ApiPropertyOptional({ type: IngestFailureDto }) error?: IngestFailureDto;
  @ApiPropertyOptional({ description: 'Ledger transaction that created the job' }) txId?: string;
}
