import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { z } from 'zod';

const uploadId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,128}$/, 'must be an upload id returned by POST /api/uploads');

const splitUploads = z.array(uploadId).min(1).max(16);

export const submitJobSchema = z.strictObject({
  spec: z.unknown(),
  uploads: z
    .strictObject({
      /** The whole data set: the gateway splits it into train / validation / holdout (seeded, the default). */
      data: z.array(uploadId).min(1, 'name at least one data upload').max(16).optional(),
      /**
       * A data set the user already split: the files of each split (one CSV, an images + labels IDX pair, or
       * one image archive each). They are stored as uploaded, without a copy; the holdout is sealed.
       */
      train: splitUploads.optional(),
      validation: splitUploads.optional(),
      holdout: splitUploads.optional(),
      /** model.json and its weight files; a single id is accepted too. */
      pretrained: z.union([uploadId.transform((id) => [id]), z.array(uploadId).min(1).max(64)]).optional(),
    })
    .superRefine((uploads, ctx) => {
      const split = [uploads.train, uploads.validation, uploads.holdout].filter((ids) => ids !== undefined);
      if (uploads.data !== undefined && split.length > 0) {
        ctx.addIssue({
          code: 'custom',
          message:
            'name either data (split by the gateway) or train, validation and holdout (already split), not both',
        });
      } else if (uploads.data === undefined && split.length !== 3) {
        ctx.addIssue({
          code: 'custom',
          message:
            split.length === 0
              ? 'name at least one data upload (data), or train, validation and holdout uploads'
              : 'a data set split by you needs all three of train, validation and holdout',
        });
      }
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
  @ApiPropertyOptional({
    type: [String],
    description:
      "Completed tus upload ids of the whole data set, which the gateway splits into train / validation / holdout with the spec's seeded split (the default). Give either data or all of train, validation and holdout.",
  })
  data?: string[];
  @ApiPropertyOptional({
    type: [String],
    description:
      "A data set you split yourself: the upload ids of the training split (one CSV, an IDX images + labels pair, or one image archive). Stored as uploaded, without a copy; the spec's split ratios and seed are not used.",
  })
  train?: string[];
  @ApiPropertyOptional({
    type: [String],
    description: 'Pre-split data: the validation split (same files as train).',
  })
  validation?: string[];
  @ApiPropertyOptional({
    type: [String],
    description:
      'Pre-split data: the holdout split (same files as train), sealed: only validator identities can read it, and its hash goes on the ledger.',
  })
  holdout?: string[];
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
