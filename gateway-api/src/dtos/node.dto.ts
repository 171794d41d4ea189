import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

import { ActorDto } from './job-view.dto';

export class NodeActivityDto {
  @ApiProperty({ enum: ['idle', 'training', 'validating'] }) state!: string;
  @ApiPropertyOptional() jobId?: string;
  @ApiPropertyOptional({ description: 'The trial an executor holds' }) trialId?: string;
}

export class NodeDto {
  @ApiProperty({ type: ActorDto }) node!: ActorDto;
  @ApiProperty({ enum: ['executor', 'validator'] }) role!: string;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'cores, memoryMiB, backends...',
  })
  capabilities!: Record<string, unknown>;
  @ApiProperty({ format: 'date-time' }) registeredAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
  @ApiProperty() completed!: number;
  @ApiProperty() failed!: number;
  @ApiProperty() rejected!: number;
  @ApiProperty({ type: NodeActivityDto, description: 'What the ledger shows it doing now' })
  activity!: NodeActivityDto;
}
