/**
 * `cdk-hyperpod-plan`, the planner's command line (cli-main.ts is the binary): argument parsing and output, the
 * reference profiles (`--profile`), data mixtures from files, launch scripts, and the Service Quotas client of
 * `quotas --check`. Not re-exported by lib/index.ts: the binary is its interface.
 */
export { EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK, runCli, runCommand } from './cli';
export { JSON_SCHEMA_VERSION } from './cli-render';
export type { JsonCommand } from './cli-render';
export type { CliOutput } from './cli';
export { parseDataMixture, readDataMixture } from './data-mixture-file';
export { findProfile, profileNames, profilePlanInput } from './profiles';
export {
  QUOTAS_HELP, QuotaExitCode, QuotaStatus,
  checkQuotas, isMissingCredentials, requestCommand, runQuotasCommand, serviceQuotasClient,
} from './quota-check';
export type { QuotaCheck, QuotaClient } from './quota-check';
