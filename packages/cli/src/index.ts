export { run, buildProgram, VERSION } from './cli';
export { processIo, Reporter, describeError, toJson, table, type CliIo } from './cli-output';
export { EXIT, exitCodeFor, type ExitCode } from './exit-codes';
export { createProgressBar, renderProgress, type ProgressBar, type ProgressBarOptions } from './progress-bar';
export { UsageError, CliOperationError } from './cli.errors';
export { devnetFiles, runningDevnet, startDevnetProcess, stopDevnetProcess } from './devnet.process';
export {
  GatewayClient,
  GatewayError,
  type UploadProgress,
  type UploadSettings,
} from './gateway/gateway.client';
export { uploadFile, type UploadedFile } from './gateway/job-submission';
