import { Global, Module, type DynamicModule } from '@nestjs/common';

import type { AppConfig } from './config.schema';
import { APP_CONFIG } from './config.tokens';

/** Hands the configuration validated in `main.ts` (or a test) to every provider. */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: ConfigModule,
      providers: [{ provide: APP_CONFIG, useValue: config }],
      exports: [APP_CONFIG],
    };
  }
}
