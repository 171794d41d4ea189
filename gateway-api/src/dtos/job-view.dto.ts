import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

const JOB_STATUS = ['OPEN', 'TRAINING', 'VALIDATING', 'COMPLETED', 'FAILED', 'CANCELLED'];
const TRIAL_STATUS = ['OPEN', 'CLAIMED', 'COMMITTED', 'FAILED'];
const numberMap = { type: 'object', additionalProperties: { type: 'number' } } as const;

export class ActorDto {
  @ApiProperty({ example: 'Org1MSP' }) mspId!: string;
  @ApiProperty({ description: 'The X.509 identity id the chaincode sees' }) id!: string;
}

export class RoleActorDto extends ActorDto {
  @ApiProperty({ example: 'member' }) role!: string;
}

export class HyperparametersDto {
  @ApiProperty() learningRate!: number;
  @ApiProperty() batchSize!: number;
  @ApiProperty() epochs!: number;
  @ApiProperty({ example: 'adam' }) optimizer!: string;
}

export class TrialPlanDto {
  @ApiProperty() trialId!: string;
  @ApiProperty({ type: HyperparametersDto }) hyperparameters!: HyperparametersDto;
  @ApiProperty() seed!: number;
}

export class TrialDto extends TrialPlanDto {
  @ApiProperty() jobId!: string;
  @ApiProperty({ enum: TRIAL_STATUS }) status!: string;
  @ApiPropertyOptional({ type: ActorDto }) claimedBy?: ActorDto;
  @ApiPropertyOptional({ format: 'date-time' }) claimedAt?: string;
  @ApiPropertyOptional({ format: 'date-time' }) leaseExpiresAt?: string;
  @ApiProperty() attempts!: number;
  @ApiPropertyOptional() failureReason?: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
}

export class ObjectiveDto {
  @ApiProperty({ example: 'accuracy' }) metric!: string;
  @ApiProperty({ enum: ['maximize', 'minimize'] }) direction!: 'maximize' | 'minimize';
  @ApiProperty() minImprovement!: number;
}

export class SelectionDto {
  @ApiProperty() trialId!: string;
  @ApiProperty() modelHash!: string;
  @ApiProperty(numberMap) metrics!: Record<string, number>;
  @ApiProperty({ description: 'The selection rule that picked it' }) rule!: string;
  @ApiProperty({ type: [String] }) agreeingOrgs!: string[];
  @ApiPropertyOptional({ description: 'The FinalizeJob transaction' }) txId?: string;
  @ApiProperty({ format: 'date-time' }) finalizedAt!: string;
}

export class JobSummaryDto {
  @ApiProperty() jobId!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ type: ActorDto }) owner!: ActorDto;
  @ApiProperty({ enum: JOB_STATUS }) status!: string;
  @ApiProperty() specHash!: string;
  @ApiProperty() manifestHash!: string;
  @ApiProperty() merkleRoot!: string;
  @ApiProperty() holdoutHash!: string;
  @ApiProperty({ example: 'local://decenter-jobs/jobs/<jobId>/' }) storageUri!: string;
  @ApiProperty({ type: ObjectiveDto }) objective!: ObjectiveDto;
  @ApiProperty() quorum!: number;
  @ApiProperty() tolerance!: number;
  @ApiPropertyOptional({ format: 'date-time' }) startAt?: string;
  @ApiProperty({ format: 'date-time' }) trainingDeadline!: string;
  @ApiProperty({ format: 'date-time' }) validationDeadline!: string;
  @ApiProperty() trialCount!: number;
  @ApiProperty({ description: 'Trials with a committed candidate (progress against trialCount)' })
  committedTrials!: number;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
  @ApiPropertyOptional({ type: SelectionDto }) selected?: SelectionDto;
  @ApiPropertyOptional() failureReason?: string;
  @ApiProperty({ type: [String] }) validatorOrgs!: string[];
  @ApiProperty() leaseSeconds!: number;
  @ApiProperty({ type: [ActorDto] }) dataContributors!: ActorDto[];
  @ApiPropertyOptional() cancelReason?: string;
  @ApiProperty({ type: [TrialPlanDto], description: 'The planned trials' }) trials!: TrialPlanDto[];
}

export class JobListDto {
  @ApiProperty({ type: [JobSummaryDto] }) jobs!: JobSummaryDto[];
  @ApiProperty({ description: "Pass back as ?bookmark= for the next page; '' on the last one" })
  bookmark!: string;
}

export class CandidateDto {
  @ApiProperty() jobId!: string;
  @ApiProperty() trialId!: string;
  @ApiProperty({ type: ActorDto }) node!: ActorDto;
  @ApiProperty() modelHash!: string;
  @ApiProperty() artifactUri!: string;
  @ApiProperty({ type: [String] }) checkpointHashes!: string[];
  @ApiProperty({ ...numberMap, description: 'Self-reported by the trainer' }) metrics!: Record<
    string,
    number
  >;
  @ApiProperty({ example: 'wasm' }) backend!: string;
  @ApiProperty({ format: 'date-time' }) committedAt!: string;
  @ApiProperty({ description: 'The CommitCandidate transaction' }) txId!: string;
}

export class ScoreDto {
  @ApiProperty() jobId!: string;
  @ApiProperty() trialId!: string;
  @ApiProperty({ description: 'The validator org the score counts for' }) mspId!: string;
  @ApiProperty({ type: ActorDto }) validator!: ActorDto;
  @ApiProperty() verified!: boolean;
  @ApiPropertyOptional({ description: 'Absent when the candidate was rejected' }) objective?: number;
  @ApiProperty(numberMap) metrics!: Record<string, number>;
  @ApiPropertyOptional() rejectionReason?: string;
  @ApiProperty({ format: 'date-time' }) submittedAt!: string;
  @ApiProperty({ description: 'The SubmitScores transaction' }) txId!: string;
}

export class HistoryEntryDto {
  @ApiProperty({ example: 'JobCreated' }) event!: string;
  @ApiPropertyOptional({ enum: JOB_STATUS }) status?: string;
  @ApiProperty() txId!: string;
  @ApiPropertyOptional({ description: 'The block that holds the transaction' }) blockNumber?: number;
  @ApiProperty({ format: 'date-time' }) timestamp!: string;
  @ApiProperty({ type: RoleActorDto }) actor!: RoleActorDto;
}

export class JobDetailDto extends JobSummaryDto {
  @ApiProperty({ type: [TrialDto], description: 'Every trial as tracked on the ledger' })
  declare trials: TrialDto[];
  @ApiProperty({ type: [CandidateDto] }) candidates!: CandidateDto[];
  @ApiProperty({ type: [ScoreDto] }) scores!: ScoreDto[];
  @ApiProperty({ type: [HistoryEntryDto], description: 'Every ledger change, oldest first' })
  history!: HistoryEntryDto[];
}
