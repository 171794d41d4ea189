import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

import { ActorDto } from './job-view.dto';

export class BlockDto {
  @ApiProperty() number!: number;
  @ApiProperty({ description: 'SHA-256 of the block header, hex' }) hash!: string;
  @ApiProperty() previousHash!: string;
  @ApiProperty() dataHash!: string;
  @ApiProperty() transactionCount!: number;
  @ApiPropertyOptional({ format: 'date-time', description: "The first transaction's time" })
  timestamp?: string;
}

export class BlockListDto {
  @ApiProperty({ type: [BlockDto], description: 'Newest first' }) items!: BlockDto[];
  @ApiPropertyOptional({ description: 'Pass as ?before= for older blocks' }) next?: string;
}

export class TransactionDto {
  @ApiProperty() txId!: string;
  @ApiProperty() blockNumber!: number;
  @ApiProperty({ description: 'Position in its block' }) index!: number;
  @ApiProperty({ example: 'CreateJob', description: 'Chaincode function, or the envelope type (CONFIG)' })
  type!: string;
  @ApiPropertyOptional({ example: 'decenter/JobContract' }) chaincode?: string;
  @ApiProperty({ type: ActorDto, description: 'Who signed it' }) signer!: ActorDto;
  @ApiProperty({ example: 'VALID', description: "Fabric's TxValidationCode" }) validationCode!: string;
  @ApiProperty({ format: 'date-time' }) timestamp!: string;
}

export class TransactionListDto {
  @ApiProperty({ type: [TransactionDto], description: 'Newest first' }) items!: TransactionDto[];
}
