import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';

import { BlockListDto, TransactionListDto } from '../dtos/ledger-view.dto';
import { CurrentUser } from '../middleware/auth.guard';
import type { SessionUser } from '../repositories/session.repository';
import { LedgerViewService } from '../services/ledger-view.service';

@ApiTags('ledger')
@ApiBearerAuth()
@Controller('api/ledger')
export class LedgerController {
  constructor(private readonly view: LedgerViewService) {}

  @Get('blocks')
  @ApiOperation({ summary: 'Blocks, newest first (qscc GetBlockByNumber)' })
  @ApiQuery({ name: 'before', required: false, description: 'Only blocks numbered below this one' })
  @ApiQuery({ name: 'limit', required: false, description: '1-100, default 20' })
  @ApiOkResponse({ type: BlockListDto })
  blocks(@CurrentUser() user: SessionUser, @Query() query: Record<string, unknown>) {
    return this.view.blocks(user, query);
  }

  @Get('transactions')
  @ApiOperation({ summary: 'Transactions, newest first, with function, signer and validation code' })
  @ApiQuery({ name: 'txId', required: false, description: 'Only this transaction' })
  @ApiQuery({ name: 'block', required: false, description: 'Only the transactions of this block' })
  @ApiQuery({ name: 'limit', required: false, description: '1-200, default 50' })
  @ApiOkResponse({ type: TransactionListDto })
  transactions(@CurrentUser() user: SessionUser, @Query() query: Record<string, unknown>) {
    return this.view.transactions(user, query);
  }
}
