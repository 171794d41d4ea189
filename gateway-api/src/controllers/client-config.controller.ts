import { Controller, Get } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';

import { ErrorDto } from '../dtos/auth.dto';
import { ClientConfigDto, type ClientConfig } from '../dtos/client-config.dto';
import { CurrentUser } from '../middleware/auth.guard';
import type { SessionUser } from '../repositories/session.repository';
import { ClientConfigService } from '../services/client-config.service';

// Not under /api/uploads: that prefix belongs to the tus server.
@ApiTags('config')
@ApiBearerAuth()
@Controller('api')
export class ClientConfigController {
  constructor(private readonly clientConfig: ClientConfigService) {}

  @Get('config')
  @ApiOperation({
    summary:
      "This gateway's public settings: its org, and the upload block size, shard size and limits a client needs before it hashes and uploads a file",
  })
  @ApiOkResponse({ type: ClientConfigDto })
  @ApiUnauthorizedResponse({ type: ErrorDto })
  config(@CurrentUser() user: SessionUser): ClientConfig {
    return this.clientConfig.forUser(user);
  }
}
