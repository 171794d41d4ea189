import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

import { ActorDto, HyperparametersDto, ObjectiveDto } from './job-view.dto';

const numberMap = { type: 'object', additionalProperties: { type: 'number' } } as const;

export class CurvePointDto {
  @ApiProperty() epoch!: number;
  @ApiProperty() loss!: number;
  @ApiPropertyOptional() valLoss?: number;
  @ApiPropertyOptional({ description: 'The objective metric on the validation split' }) metric?: number;
}

export class ValidatorVerdictDto {
  @ApiProperty() mspId!: string;
  @ApiProperty({ type: ActorDto }) validator!: ActorDto;
  @ApiProperty() verified!: boolean;
  @ApiPropertyOptional() score?: number;
  @ApiProperty(numberMap) metrics!: Record<string, number>;
  @ApiPropertyOptional() rejectionReason?: string;
  @ApiProperty({ format: 'date-time' }) submittedAt!: string;
  @ApiProperty({ description: 'The SubmitScores transaction' }) txId!: string;
}

export class CandidateReportLineDto {
  @ApiProperty() trialId!: string;
  @ApiPropertyOptional({ type: HyperparametersDto }) hyperparameters?: HyperparametersDto;
  @ApiPropertyOptional() seed?: number;
  @ApiProperty({ type: ActorDto }) node!: ActorDto;
  @ApiProperty() org!: string;
  @ApiProperty() backend!: string;
  @ApiProperty() modelHash!: string;
  @ApiProperty({ format: 'date-time' }) committedAt!: string;
  @ApiProperty({ description: 'The CommitCandidate transaction' }) txId!: string;
  @ApiProperty({ type: [CurvePointDto] }) trainingCurve!: CurvePointDto[];
  @ApiPropertyOptional({ description: 'valid, rejected or no-quorum' }) verdict?: string;
  @ApiPropertyOptional() agreedScore?: number;
  @ApiProperty({ type: [String] }) agreeingOrgs!: string[];
  @ApiProperty({ type: [String] }) rejectionReasons!: string[];
  @ApiProperty({ type: [ValidatorVerdictDto] }) validators!: ValidatorVerdictDto[];
  @ApiProperty() selected!: boolean;
}

export class SelectionRuleDto {
  @ApiProperty() description!: string;
  @ApiProperty() quorum!: number;
  @ApiProperty() tolerance!: number;
  @ApiProperty({ type: [String] }) validatorOrgs!: string[];
  @ApiProperty() minImprovement!: number;
  @ApiProperty() tieBreak!: string;
}

export class FinalizationDto {
  @ApiProperty({ format: 'date-time' }) finalizedAt!: string;
  @ApiPropertyOptional({ description: 'The FinalizeJob transaction' }) txId?: string;
  @ApiPropertyOptional() failureReason?: string;
  @ApiProperty() disagreements!: number;
}

export class WinnerDto {
  @ApiProperty() trialId!: string;
  @ApiProperty({ type: ActorDto }) node!: ActorDto;
  @ApiProperty() modelHash!: string;
  @ApiProperty() score!: number;
  @ApiPropertyOptional() txId?: string;
}

/** "Why this model", as the validators write it at `<job>/report.json`. */
export class SelectionReportDto {
  @ApiProperty({ enum: [1] }) version!: 1;
  @ApiProperty() jobId!: string;
  @ApiProperty() name!: string;
  @ApiProperty() status!: string;
  @ApiProperty({ type: ObjectiveDto }) objective!: ObjectiveDto;
  @ApiProperty({ type: SelectionRuleDto }) rule!: SelectionRuleDto;
  @ApiPropertyOptional({ type: FinalizationDto }) finalization?: FinalizationDto;
  @ApiPropertyOptional({ type: WinnerDto }) winner?: WinnerDto;
  @ApiProperty({ type: [CandidateReportLineDto], description: 'In commitment order' })
  candidates!: CandidateReportLineDto[];
}
