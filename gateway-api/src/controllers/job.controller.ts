import { pipeline } from 'node:stream/promises';

import {
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  Param,
  Post,
  Query,
  Res,
  Sse,
  type MessageEvent,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiNotFoundResponse,
  ApiProduces,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import type { Observable } from 'rxjs';

import { ErrorDto } from '../dtos/auth.dto';
import {
  CancelJobDto,
  IngestStatusDto,
  SubmitJobDto,
  SubmitJobResponseDto,
  type SubmitJobResponse,
} from '../dtos/job.dto';
import { JobDetailDto, JobListDto } from '../dtos/job-view.dto';
import { SelectionReportDto } from '../dtos/report.dto';
import { CurrentUser } from '../middleware/auth.guard';
import type { SessionUser } from '../repositories/session.repository';
import { DownloadService } from '../services/download.service';
import { EventsService } from '../services/events.service';
import { JobService, type IngestStatus } from '../services/job.service';
import { JobViewService } from '../services/job-view.service';

@ApiTags('jobs')
@ApiBearerAuth()
@Controller('api/jobs')
export class JobController {
  constructor(
    private readonly jobs: JobService,
    private readonly events: EventsService,
    private readonly downloads: DownloadService,
    private readonly views: JobViewService,
  ) {}

  @Post()
  @HttpCode(202)
  @ApiOperation({ summary: 'Submit a job: validates the spec and queues the ingest of its uploads' })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'Repeat it on retry to get the same job',
  })
  @ApiAcceptedResponse({ type: SubmitJobResponseDto })
  @ApiBadRequestResponse({ type: ErrorDto, description: 'The spec or the request failed validation' })
  async submit(
    @CurrentUser() user: SessionUser,
    @Body() body: SubmitJobDto,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
  ): Promise<SubmitJobResponse> {
    const { jobId } = await this.jobs.submit(user, body, idempotencyKey);
    return { jobId, status: 'QUEUED', ingestUrl: `/api/jobs/${jobId}/ingest` };
  }

  @Get()
  @ApiOperation({
    summary: 'Jobs on the ledger with their training progress (paged; filter by status, owner id)',
  })
  @ApiQuery({
    name: 'status',
    required: false,
    enum: ['OPEN', 'TRAINING', 'VALIDATING', 'COMPLETED', 'FAILED', 'CANCELLED'],
  })
  @ApiQuery({ name: 'owner', required: false, description: "The owner's identity id" })
  @ApiQuery({ name: 'bookmark', required: false })
  @ApiQuery({ name: 'pageSize', required: false, description: '1-100' })
  @ApiOkResponse({ type: JobListDto })
  list(@CurrentUser() user: SessionUser, @Query() query: Record<string, unknown>) {
    return this.views.list(user, query);
  }

  @Get(':id')
  @ApiOperation({
    summary: 'One job as the ledger records it, with its trials, candidates, scores and history',
  })
  @ApiOkResponse({ type: JobDetailDto })
  @ApiForbiddenResponse({ type: ErrorDto })
  get(@CurrentUser() user: SessionUser, @Param('id') id: string) {
    return this.views.detail(user, id);
  }

  @Get(':id/report')
  @ApiOperation({ summary: '"Why this model": the validators\' selection report, once the job is COMPLETED' })
  @ApiOkResponse({ type: SelectionReportDto })
  @ApiForbiddenResponse({ type: ErrorDto, description: "Outside the owner's org and the validators" })
  @ApiNotFoundResponse({ type: ErrorDto, description: 'Not written yet' })
  report(@CurrentUser() user: SessionUser, @Param('id') id: string) {
    return this.views.report(user, id);
  }

  @Get(':id/ingest')
  @ApiOperation({ summary: 'Ingest status, progress and, on failure, the file and line that failed' })
  @ApiOkResponse({ type: IngestStatusDto })
  @ApiForbiddenResponse({ type: ErrorDto, description: "Another org's or user's job" })
  ingest(@CurrentUser() user: SessionUser, @Param('id') id: string): Promise<IngestStatus> {
    return this.jobs.ingestStatus(user, id);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @ApiOperation({ summary: 'Cancel a job (its owner only: the chaincode checks); signed with your identity' })
  cancel(@CurrentUser() user: SessionUser, @Param('id') id: string, @Body() body: CancelJobDto) {
    return this.jobs.cancel(user, id, body);
  }

  @Sse(':id/events')
  @ApiOperation({
    summary: 'Server-sent events: ledger events of the job and training progress from nodes',
    description:
      'Events `job` (snapshot first), `ledger`, `progress` and `ingest`; a `: keep-alive` comment every 15 s keeps idle streams open through proxies.',
  })
  @ApiProduces('text/event-stream')
  async eventStream(
    @CurrentUser() user: SessionUser,
    @Param('id') id: string,
  ): Promise<Observable<MessageEvent>> {
    // Who may follow a job is who may read it on the ledger.
    const job = await this.jobs.get(user, id);
    const snapshot: MessageEvent = { type: 'job', data: job };
    return this.events.sse(job.jobId, snapshot);
  }

  @Get(':id/model')
  @ApiOperation({ summary: 'Download the selected model (HTTP Range supported; shards verified on the fly)' })
  @ApiProduces('application/octet-stream')
  async model(
    @CurrentUser() user: SessionUser,
    @Param('id') id: string,
    @Headers('range') range: string | undefined,
    @Query('name') name: string | undefined,
    @Res() response: Response,
  ): Promise<void> {
    const download = await this.downloads.model(user, id, range, name);
    response.status(download.status).set(download.headers);
    try {
      await pipeline(download.body, response);
    } catch {
      // A part that fails verification (or a client that leaves) ends the response early, so the
      // client sees a short body and never a complete-looking corrupt one.
      response.destroy();
    }
  }
}
