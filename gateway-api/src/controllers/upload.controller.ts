import { All, Controller, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiExcludeEndpoint, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';

import type { AuthenticatedRequest } from '../middleware/auth.guard';
import { RateLimited } from '../middleware/rate-limit';
import { UploadService } from '../services/upload.service';

/**
 * Hands tus requests to @tus/server after the auth guard and the upload rate limit ran. tus answers
 * the request itself, so Nest must not write a response of its own.
 */
@ApiTags('uploads')
@ApiBearerAuth()
@RateLimited('upload')
@Controller('api/uploads')
export class UploadController {
  constructor(private readonly uploads: UploadService) {}

  @All()
  @ApiOperation({
    summary:
      'tus 1.0 endpoint (creation, termination): POST with Upload-Length and metadata filename, digest',
  })
  collection(@Req() request: AuthenticatedRequest, @Res() response: Response): Promise<void> {
    return this.uploads.handle(request, response);
  }

  @All('*id')
  @ApiExcludeEndpoint()
  upload(@Req() request: AuthenticatedRequest, @Res() response: Response): Promise<void> {
    return this.uploads.handle(request, response);
  }
}
