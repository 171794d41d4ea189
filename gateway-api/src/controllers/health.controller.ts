import { Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';

import { Public } from '../middleware/auth.guard';
import { HealthService } from '../services/health.service';
import { MetricsService } from '../services/metrics.service';

@ApiTags('health')
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly checks: HealthService,
    private readonly metrics: MetricsService,
  ) {}

  @Public()
  @Get('api/health')
  @HealthCheck()
  @ApiOperation({ summary: 'Redis, ledger and storage health' })
  check() {
    return this.health.check([
      () => this.indicator('redis', () => this.checks.checkRedis()),
      () => this.indicator('ledger', () => this.checks.checkLedger()),
      () => this.indicator('storage', () => this.checks.checkStorage()),
    ]);
  }

  private async indicator(key: string, probe: () => Promise<Record<string, unknown>>) {
    const session = this.indicators.check(key);
    try {
      return session.up(await probe());
    } catch (error) {
      return session.down({ message: error instanceof Error ? error.message : String(error) });
    }
  }

  @Public()
  @Get('metrics')
  @ApiExcludeEndpoint()
  @Header('Cache-Control', 'no-store')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  async prometheus(): Promise<string> {
    const { body } = await this.metrics.render();
    return body;
  }
}
