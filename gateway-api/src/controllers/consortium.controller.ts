import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';

import { CertificateDto, CertificateVerificationDto } from '../dtos/certificate.dto';
import { NodeDto } from '../dtos/node.dto';
import { CurrentUser } from '../middleware/auth.guard';
import type { SessionUser } from '../repositories/session.repository';
import { ConsortiumService } from '../services/consortium.service';

@ApiTags('consortium')
@ApiBearerAuth()
@Controller('api')
export class ConsortiumController {
  constructor(private readonly consortium: ConsortiumService) {}

  @Get('jobs/:id/trials')
  @ApiOperation({ summary: "The job's trials: hyperparameters, seed, who claimed each" })
  trials(@CurrentUser() user: SessionUser, @Param('id') id: string) {
    return this.consortium.jobDetail(user, id, 'trials');
  }

  @Get('jobs/:id/candidates')
  @ApiOperation({ summary: 'Committed candidates with their model hashes and self-reported metrics' })
  candidates(@CurrentUser() user: SessionUser, @Param('id') id: string) {
    return this.consortium.jobDetail(user, id, 'candidates');
  }

  @Get('jobs/:id/scores')
  @ApiOperation({ summary: "Validators' scores of each candidate" })
  scores(@CurrentUser() user: SessionUser, @Param('id') id: string) {
    return this.consortium.jobDetail(user, id, 'scores');
  }

  @Get('jobs/:id/history')
  @ApiOperation({ summary: 'Every ledger change of the job, oldest first, with transaction ids' })
  history(@CurrentUser() user: SessionUser, @Param('id') id: string) {
    return this.consortium.jobDetail(user, id, 'history');
  }

  @Get('nodes')
  @ApiOperation({ summary: 'Registered execution and validator nodes (filter by role, mspId)' })
  @ApiOkResponse({ type: [NodeDto] })
  nodes(@CurrentUser() user: SessionUser, @Query() query: Record<string, unknown>) {
    return this.consortium.nodes(user, query);
  }

  @Get('certificates')
  @ApiOperation({ summary: 'Certificates (filter by holderId, jobId)' })
  @ApiOkResponse({ type: [CertificateDto] })
  certificates(@CurrentUser() user: SessionUser, @Query() query: Record<string, unknown>) {
    return this.consortium.certificates(user, query);
  }

  @Get('certificates/:tokenId/verify')
  @ApiOperation({ summary: 'Check a certificate against the ledger: valid unless revoked' })
  @ApiOkResponse({ type: CertificateVerificationDto })
  verify(@CurrentUser() user: SessionUser, @Param('tokenId') tokenId: string) {
    return this.consortium.verifyCertificate(user, tokenId);
  }

  @Get('ledger')
  @ApiOperation({ summary: 'Chain height and head block hashes' })
  chain(@CurrentUser() user: SessionUser) {
    return this.consortium.chain(user);
  }
}
