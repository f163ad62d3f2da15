import type * as ServiceQuotasSdk from '@aws-sdk/client-service-quotas';
import { MAX_EBS_VOLUME_GIB } from '../catalog/hyperpod-instance-types';
import { TrainingPlatformProfile } from '../platform/profiles';
import { isParseArgsError, parseOptions, Values } from './args';
import type { CliOutput } from './cli';
import { PlannerInputError } from '../planner/errors';
import { Align, num, table } from './format';
import { findProfile, profileNames } from './profiles';
import {
  CLUSTER_INTERFACE_ENDPOINT_COUNT, DeploymentShape, EBS_VOLUME_SIZE_QUOTA, NodeRole,
  QuotaNodeGroup, QuotaRequirement, ebsVolumeGiB, requiredQuotas, requireHyperPodInstanceType, totalEbsGiB,
} from '../planner/quotas';

/**
 * Read access to an account's service quotas in one Region. `runQuotasCommand` takes one so that tests (and
 * callers with their own SDK setup) need no AWS; the default talks to the Service Quotas API.
 */
export interface QuotaClient {
  /**
   * The quota's value in the account, given by code (`L-…`) or by exact name: the applied value, else the AWS
   * default; undefined when the service has no such quota here.
   */
  getQuotaValue(serviceCode: string, quotaCodeOrName: string): Promise<number | undefined>;
  /** The code of the quota with this name, if the client can look it up (used for the request commands). */
  findQuotaCode?(serviceCode: string, quotaName: string): Promise<string | undefined>;
}

/** How a quota compares with what the deployment needs. */
export enum QuotaStatus {
  /** The quota is at least the required value. */
  ENOUGH = 'enough',
  /** The quota is lower: request an increase. */
  REQUEST = 'request',
  /** The quota could not be found, so it is not known to be enough. */
  UNKNOWN = 'unknown',
}

/** One required quota next to the account's value. */
export interface QuotaCheck extends QuotaRequirement {
  /** The account's quota value; undefined when not found. */
  readonly current?: number;
  readonly status: QuotaStatus;
}

/** Exit codes of `cdk-hyperpod-plan quotas` (0, 1 and 2 as for the other commands, 3 for AWS access). */
export enum QuotaExitCode {
  /** Listed; with `--check`, every quota is enough. */
  OK = 0,
  /** A quota to request or not found (not known to be enough), or an unexpected failure (stderr says which). */
  ACTION_NEEDED = 1,
  /** The input cannot be sized; the message lists the allowed values. */
  BAD_INPUT = 2,
  /** `--check` found no usable AWS credentials, or no permission to read quotas. */
  NO_CREDENTIALS = 3,
}

/** Compares each required quota with the account's value (read-only calls only). */
export async function checkQuotas(requirements: readonly QuotaRequirement[],
  client: QuotaClient): Promise<QuotaCheck[]> {
  const checks: QuotaCheck[] = [];
  for (const req of requirements) {
    let quotaCode = req.quotaCode;
    let current = quotaCode ? await client.getQuotaValue(req.serviceCode, quotaCode) : undefined;
    if (current === undefined) {
      // No code, or one this Region does not list: the name may still match, and AWS then tells its code.
      current = await client.getQuotaValue(req.serviceCode, req.quotaName);
      if (current !== undefined) quotaCode = await client.findQuotaCode?.(req.serviceCode, req.quotaName);
    }
    const status = current === undefined ? QuotaStatus.UNKNOWN
      : current >= req.required ? QuotaStatus.ENOUGH : QuotaStatus.REQUEST;
    checks.push({ ...req, quotaCode, current, status });
  }
  return checks;
}

/**
 * The AWS CLI line that requests `required` for this quota. Without a known code, the line looks the code up by
 * name (every quota, adjusted or not, is in the AWS default list).
 */
export function requestCommand(req: QuotaRequirement, region: string): string {
  const code = req.quotaCode ?? `"$(aws service-quotas list-aws-default-service-quotas --region ${region} `
    + `--service-code ${req.serviceCode} --query "Quotas[?QuotaName=='${req.quotaName}'].QuotaCode" --output text)"`;
  return `aws service-quotas request-service-quota-increase --region ${region} --service-code ${req.serviceCode} `
    + `--quota-code ${code} --desired-value ${req.required}`;
}

/**
 * A QuotaClient over the Service Quotas API (GetServiceQuota, falling back to GetAWSDefaultServiceQuota; by name,
 * ListServiceQuotas then ListAWSDefaultServiceQuotas). Credentials come from the SDK's default provider chain. The
 * SDK is loaded on first use only, so nothing else in the CLI or the library loads it.
 */
export function serviceQuotasClient(region: string): QuotaClient {
  return new ServiceQuotasApiClient(region);
}

type Sdk = typeof ServiceQuotasSdk;
interface Listed {
  readonly applied: ServiceQuotasSdk.ServiceQuota[];
  readonly defaults: ServiceQuotasSdk.ServiceQuota[];
}

const QUOTA_CODE = /^L-[0-9A-F]{8}$/i;

class ServiceQuotasApiClient implements QuotaClient {
  private api?: Promise<{ sdk: Sdk; client: ServiceQuotasSdk.ServiceQuotasClient }>;
  private readonly lists = new Map<string, Promise<Listed>>();

  constructor(private readonly region: string) {}

  public async getQuotaValue(serviceCode: string, quotaCodeOrName: string): Promise<number | undefined> {
    if (!QUOTA_CODE.test(quotaCodeOrName)) return (await this.byName(serviceCode, quotaCodeOrName))?.Value;
    const { sdk, client } = await this.connect();
    const input = { ServiceCode: serviceCode, QuotaCode: quotaCodeOrName };
    const applied = await absentAsUndefined(() => client.send(new sdk.GetServiceQuotaCommand(input)));
    if (applied?.Quota?.Value !== undefined) return applied.Quota.Value;
    const byDefault = await absentAsUndefined(() => client.send(new sdk.GetAWSDefaultServiceQuotaCommand(input)));
    return byDefault?.Quota?.Value;
  }

  public async findQuotaCode(serviceCode: string, quotaName: string): Promise<string | undefined> {
    return (await this.byName(serviceCode, quotaName))?.QuotaCode;
  }

  private connect() {
    this.api ??= import('@aws-sdk/client-service-quotas')
      .then((sdk) => ({ sdk, client: new sdk.ServiceQuotasClient({ region: this.region }) }));
    return this.api;
  }

  private async byName(serviceCode: string, quotaName: string): Promise<ServiceQuotasSdk.ServiceQuota | undefined> {
    let listed = this.lists.get(serviceCode);
    if (!listed) {
      listed = this.listAll(serviceCode);
      this.lists.set(serviceCode, listed);
    }
    const { applied, defaults } = await listed;
    const wanted = quotaName.trim().toLowerCase();
    const named = (q: ServiceQuotasSdk.ServiceQuota) => q.QuotaName?.trim().toLowerCase() === wanted;
    return applied.find((q) => named(q) && q.Value !== undefined) ?? defaults.find(named);
  }

  private async listAll(serviceCode: string): Promise<Listed> {
    const { sdk, client } = await this.connect();
    const input = (token?: string) => ({ ServiceCode: serviceCode, MaxResults: 100, NextToken: token });
    return {
      applied: await allPages((t) => client.send(new sdk.ListServiceQuotasCommand(input(t)))),
      defaults: await allPages((t) => client.send(new sdk.ListAWSDefaultServiceQuotasCommand(input(t)))),
    };
  }
}

interface QuotaPage { readonly Quotas?: ServiceQuotasSdk.ServiceQuota[]; readonly NextToken?: string }

async function allPages(page: (token?: string) => Promise<QuotaPage>): Promise<ServiceQuotasSdk.ServiceQuota[]> {
  const quotas: ServiceQuotasSdk.ServiceQuota[] = [];
  let token: string | undefined;
  do {
    const result = await page(token);
    quotas.push(...(result.Quotas ?? []));
    token = result.NextToken;
  } while (token);
  return quotas;
}

/** Service Quotas answers NoSuchResourceException for a quota with no value at that level. */
async function absentAsUndefined<T>(call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call();
  } catch (e) {
    if (errorName(e) === 'NoSuchResourceException') return undefined;
    throw e;
  }
}

function errorName(e: unknown): string | undefined {
  const name = (e as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' ? name : undefined;
}

/** The SDK's default chain found no credentials (CredentialsProviderError, "Could not load credentials…"). */
export function isMissingCredentials(e: unknown): boolean {
  const message = (e as { message?: unknown } | undefined)?.message;
  return errorName(e) === 'CredentialsProviderError'
    || (typeof message === 'string' && /could not load credentials/i.test(message));
}

const REJECTED_CREDENTIALS = new Set(['ExpiredTokenException', 'ExpiredToken', 'UnrecognizedClientException',
  'InvalidClientTokenId', 'InvalidSignatureException']);

const str = { type: 'string' } as const;
const flag = { type: 'boolean' } as const;
const OPTIONS = {
  'profile': str, 'instance': str, 'nodes': str, 'instance-group': { type: 'string', multiple: true } as const,
  'controller': str, 'login': str, 'ebs-gib': str, 'interface-endpoints': flag, 'check': flag, 'region': str,
  'json': flag, 'help': flag,
};
const EXPLICIT_FLAGS = ['instance', 'nodes', 'instance-group', 'controller', 'login', 'interface-endpoints'];
const EXPLICIT_SHAPE = '--instance TYPE --nodes N and/or --instance-group TYPE:COUNT (repeatable) '
  + '[--controller TYPE] [--login TYPE[:COUNT]]';

/** Controller type of an explicit shape without `--controller`: the swallow-70b profile's. */
const DEFAULT_CONTROLLER = 'ml.m5.12xlarge';

/** A deployment to size quotas for, and how to call it. */
interface Target {
  readonly label: string;
  readonly shape: DeploymentShape;
  /** The flags that give this target again, for the `--check` hint. */
  readonly args: string;
}

/**
 * `cdk-hyperpod-plan quotas`: the service quotas a profile or an explicit shape needs; with `--check`, compared
 * with the account's through the Service Quotas API (read-only), with the increase requests to file. Returns the
 * exit code (QuotaExitCode). `client` replaces the Service Quotas API client (tests).
 */
export async function runQuotasCommand(argv: string[], io: CliOutput, client?: QuotaClient): Promise<number> {
  let values: Values;
  let target: Target;
  let requirements: QuotaRequirement[];
  let region: string | undefined;
  try {
    values = parseOptions(argv, OPTIONS);
    if (values.help) {
      io.stdout(`${QUOTAS_HELP}\n`);
      return QuotaExitCode.OK;
    }
    target = targetFrom(values);
    requirements = requiredQuotas(target.shape);
    if (values.check) region = regionFrom(values);
  } catch (e) {
    if (e instanceof PlannerInputError || isParseArgsError(e)) {
      io.stderr(`error: ${(e as Error).message}\n(see: cdk-hyperpod-plan quotas --help)\n`);
      return QuotaExitCode.BAD_INPUT;
    }
    io.stderr(`error: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    return QuotaExitCode.ACTION_NEEDED;
  }
  if (region === undefined) {
    io.stdout(`${values.json ? JSON.stringify(requirementsJson(target, requirements), null, 2)
      : renderRequirements(target, requirements)}\n`);
    return QuotaExitCode.OK;
  }
  let checks: QuotaCheck[];
  try {
    checks = await checkQuotas(requirements, client ?? serviceQuotasClient(region));
  } catch (e) {
    return reportAwsError(e, io);
  }
  io.stdout(`${values.json ? JSON.stringify(checksJson(target, region, checks), null, 2)
    : renderChecks(target, region, checks)}\n`);
  return checks.every((c) => c.status === QuotaStatus.ENOUGH) ? QuotaExitCode.OK : QuotaExitCode.ACTION_NEEDED;
}

function reportAwsError(e: unknown, io: CliOutput): number {
  const message = e instanceof Error ? e.message : String(e);
  if (isMissingCredentials(e)) {
    io.stderr('error: --check needs AWS credentials, and none were found (the AWS SDK looked in the environment, '
      + 'the shared config and credentials files, SSO, and container or instance roles).\n'
      + 'Sign in (e.g. `aws sso login --profile NAME` with AWS_PROFILE=NAME, or `aws configure`) and run again, or '
      + 'drop --check to list the required quotas without AWS.\n');
    return QuotaExitCode.NO_CREDENTIALS;
  }
  const name = errorName(e);
  if (name && REJECTED_CREDENTIALS.has(name)) {
    io.stderr(`error: AWS rejected the credentials (${name}: ${message}). Refresh them and run again.\n`);
    return QuotaExitCode.NO_CREDENTIALS;
  }
  if (name === 'AccessDeniedException') {
    io.stderr(`error: not allowed to read service quotas (${message}). --check needs servicequotas:GetServiceQuota, `
      + 'GetAWSDefaultServiceQuota, ListServiceQuotas and ListAWSDefaultServiceQuotas.\n');
    return QuotaExitCode.NO_CREDENTIALS;
  }
  io.stderr(`error: reading service quotas failed: ${name ? `${name}: ` : ''}${message}\n`);
  return QuotaExitCode.ACTION_NEEDED;
}

function targetFrom(values: Values): Target {
  const explicit = EXPLICIT_FLAGS.filter((f) => values[f] !== undefined);
  const ebs = values['ebs-gib'] === undefined ? undefined : integer(values, 'ebs-gib', MAX_EBS_VOLUME_GIB);
  const ebsArg = ebs === undefined ? '' : ` --ebs-gib ${ebs}`;
  if (values.profile !== undefined) {
    if (explicit.length > 0) {
      throw new PlannerInputError('profile', `takes no ${explicit.map((f) => `--${f}`).join(' ')}: `
        + `give either --profile or ${EXPLICIT_SHAPE}`);
    }
    const profile = findProfile(String(values.profile));
    return { label: profile.name, shape: profileShape(profile, ebs), args: `--profile ${profile.name}${ebsArg}` };
  }
  const compute = computeGroups(values);
  const controller = requireHyperPodInstanceType('controller', String(values.controller ?? DEFAULT_CONTROLLER)).name;
  const login = values.login === undefined ? undefined : groupSpec('login', String(values.login), 1);
  const endpoints = !!values['interface-endpoints'];
  const groups = [
    ...compute.map((g) => group(NodeRole.COMPUTE, g.instanceType, g.count, ebs)),
    group(NodeRole.CONTROLLER, controller, 1, ebs),
    ...(login ? [group(NodeRole.LOGIN, login.instanceType, login.count, ebs)] : []),
  ];
  const args = [compute.map((g) => `--instance-group ${g.instanceType}:${g.count}`).join(' '),
    ` --controller ${controller}`, login ? ` --login ${login.instanceType}:${login.count}` : '', ebsArg,
    endpoints ? ' --interface-endpoints' : ''].join('');
  const label = compute.map((g) => `${g.count} x ${g.instanceType}`).join(' + ');
  return { label, shape: shapeOf(groups, endpoints, true), args };
}

interface GroupSpec { readonly instanceType: string; readonly count: number }

/** `--instance TYPE --nodes N` (one compute group), then each `--instance-group TYPE:COUNT`. */
function computeGroups(values: Values): GroupSpec[] {
  const groups: GroupSpec[] = [];
  if (values.instance !== undefined || values.nodes !== undefined) {
    if (values.instance === undefined || values.nodes === undefined) {
      throw new PlannerInputError(values.instance === undefined ? 'nodes' : 'instance',
        `needs both --instance TYPE --nodes N: ${EXPLICIT_SHAPE}`);
    }
    groups.push({ instanceType: requireHyperPodInstanceType('instance', String(values.instance)).name,
      count: integer(values, 'nodes') });
  }
  const specs = (values['instance-group'] ?? []) as string[];
  groups.push(...specs.map((spec) => groupSpec('instance-group', spec)));
  if (groups.length === 0) {
    throw new PlannerInputError('profile', `or a compute group is required: --profile one of `
      + `${profileNames().join(', ')}, or ${EXPLICIT_SHAPE}`);
  }
  return groups;
}

/** `TYPE:COUNT`, or `TYPE` alone when there is a default count. */
function groupSpec(field: string, spec: string, defaultCount?: number): GroupSpec {
  const [type, count, extra] = spec.split(':');
  const shape = defaultCount === undefined ? 'TYPE:COUNT' : 'TYPE or TYPE:COUNT';
  if (extra !== undefined || type.trim() === '' || (count === undefined && defaultCount === undefined)) {
    throw new PlannerInputError(field, `must be ${shape}, e.g. ml.p5.48xlarge:16, got '${spec}'`);
  }
  const instanceType = requireHyperPodInstanceType(field, type.trim()).name;
  const value = count === undefined ? defaultCount! : Number(count);
  if (count !== undefined && (count.trim() === '' || !Number.isInteger(value) || value < 1)) {
    throw new PlannerInputError(field, `count must be a positive integer, got '${count}' in '${spec}'`);
  }
  return { instanceType, count: value };
}

function group(role: NodeRole, instanceType: string, count: number, ebs: number | undefined): QuotaNodeGroup {
  return { role, instanceType, count, ebsVolumeGiB: ebs };
}

function profileShape(p: TrainingPlatformProfile, ebs: number | undefined): DeploymentShape {
  return shapeOf([
    group(NodeRole.COMPUTE, p.computeInstanceType, p.computeNodeCount, ebs),
    group(NodeRole.CONTROLLER, p.controllerInstanceType, 1, ebs),
    ...(p.loginInstanceType ? [group(NodeRole.LOGIN, p.loginInstanceType, 1, ebs)] : []),
  ], p.interfaceEndpoints, p.natGateway);
}

/** The reference composition: the instance groups (compute, one controller, optional login) and FSx for Lustre. */
function shapeOf(groups: QuotaNodeGroup[], interfaceEndpoints: boolean, natGateway: boolean): DeploymentShape {
  return {
    groups,
    fileSystem: true,
    interfaceEndpoints: interfaceEndpoints ? CLUSTER_INTERFACE_ENDPOINT_COUNT : 0,
    natGateway,
  };
}

function regionFrom(values: Values): string {
  const region = values.region !== undefined ? String(values.region)
    : process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION;
  if (!region) {
    throw new PlannerInputError('region', 'is required with --check: --region REGION, or AWS_REGION / '
      + 'AWS_DEFAULT_REGION in the environment');
  }
  if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) {
    throw new PlannerInputError('region', `must be an AWS Region such as us-east-1, got '${region}'`);
  }
  return region;
}

function integer(values: Values, name: string, max?: number): number {
  const raw = String(values[name]);
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(value) || value < 1 || (max !== undefined && value > max)) {
    throw new PlannerInputError(name, max === undefined ? `must be a positive integer, got '${raw}'`
      : `must be an integer from 1 to ${max}, got '${raw}'`);
  }
  return value;
}

/** Breaks a long line at spaces before column 115, continuing with `indent`. */
function wrap(line: string, indent: string): string {
  const lines: string[] = [];
  let rest = line;
  while (rest.length > 115) {
    const cut = rest.lastIndexOf(' ', 115);
    if (cut <= indent.length) break;
    lines.push(rest.slice(0, cut));
    rest = indent + rest.slice(cut + 1);
  }
  return [...lines, rest].join('\n');
}

function codeText(q: QuotaRequirement): string {
  return q.quotaCode ?? '(looked up by name)';
}

function shapeLines(target: Target): string[] {
  const { shape } = target;
  const nodes = shape.groups.map((g) => `${g.count} x ${g.instanceType} (${g.role})`).join(', ');
  const network = [shape.fileSystem ?? true ? 'FSx for Lustre' : undefined,
    shape.interfaceEndpoints ? `${shape.interfaceEndpoints} interface endpoints` : undefined,
    shape.natGateway ?? true ? 'NAT gateway' : undefined].filter((s) => s !== undefined).join(', ');
  return [`  nodes:   ${nodes}`, `  network: ${network || 'no file system, endpoints or NAT'}`];
}

function notes(target: Target, reqs: readonly QuotaRequirement[]): string[] {
  const { groups } = target.shape;
  const byName = reqs.some((q) => q.quotaCode === undefined);
  const ebs = totalEbsGiB(target.shape);
  const sum = groups.map((g) => `${g.count} x ${num(ebsVolumeGiB(g))}`).join(' + ');
  return [
    'Each value is what this deployment needs on its own: other clusters, instances and network interfaces in the '
      + 'account and Region count against the same quotas.',
    `EBS: the per-node volumes add up to ${sum} = ${num(ebs)} GiB (${num(ebs / 1024, 1)} TiB). AWS's HyperPod `
      + `prerequisites name only the per-instance size quota ("${EBS_VOLUME_SIZE_QUOTA}") for them; HyperPod `
      + 'creates the volumes itself, and whether they also count against EBS "Storage for General Purpose SSD (gp3) '
      + 'volumes, in TiB" (ebs L-7A658B76) is not documented: that total is not checked.',
    ...(byName ? ['Quotas shown "(looked up by name)" have no confirmed code here; --check finds them by name.'] : []),
  ];
}

function renderRequirements(target: Target, reqs: readonly QuotaRequirement[]): string {
  const rows = [['quota', 'code', 'service', 'required'],
    ...reqs.map((q) => [q.quotaName, codeText(q), q.serviceCode, num(q.required)])];
  return [
    `Service quotas for ${target.label}`,
    ...shapeLines(target),
    '',
    table(rows, [Align.LEFT, Align.LEFT, Align.LEFT, Align.RIGHT]),
    '',
    'How the values add up:',
    ...reqs.map((q) => wrap(`  ${q.quotaName}: ${q.basis}`, '    ')),
    '',
    'Notes:',
    ...notes(target, reqs).map((n) => wrap(`  - ${n}`, '    ')),
    '',
    `Compare with your account (read-only): cdk-hyperpod-plan quotas ${target.args} --check --region REGION`,
  ].join('\n');
}

function statusText(c: QuotaCheck): string {
  if (c.status === QuotaStatus.REQUEST) return `request ${num(c.required)}`;
  if (c.status === QuotaStatus.UNKNOWN) return 'unknown: not found';
  return 'enough';
}

function renderChecks(target: Target, region: string, checks: readonly QuotaCheck[]): string {
  const current = (c: QuotaCheck) => (c.current === undefined ? '-' : num(c.current));
  const rows = [['quota', 'code', 'required', 'current', 'status'],
    ...checks.map((c) => [c.quotaName, codeText(c), num(c.required), current(c), statusText(c)])];
  const requests = checks.filter((c) => c.status === QuotaStatus.REQUEST);
  const unknown = checks.filter((c) => c.status === QuotaStatus.UNKNOWN);
  const out = [
    `Service quotas for ${target.label} in ${region}`,
    ...shapeLines(target),
    '',
    table(rows, [Align.LEFT, Align.LEFT, Align.RIGHT, Align.RIGHT, Align.LEFT]),
    '',
  ];
  if (requests.length === 0 && unknown.length === 0) {
    out.push('Nothing to request: every quota is at least what this deployment needs.');
  }
  if (requests.length > 0) {
    out.push(`To request (${requests.length}):`,
      table([['quota', 'required', 'current', 'request to'],
        ...requests.map((c) => [c.quotaName, num(c.required), current(c), num(c.required)])],
      [Align.LEFT, Align.RIGHT, Align.RIGHT, Align.RIGHT]),
      '',
      ...requests.map((c) => `  ${requestCommand(c, region)}`));
  }
  if (unknown.length > 0) {
    if (requests.length > 0) out.push('');
    out.push(wrap(`Unknown (${unknown.length}): not found among the account's quotas in ${region}, so not known to `
      + 'be enough; look them up in the Service Quotas console (the instance type may not be offered here):', ''),
    ...unknown.map((c) => `  ${c.quotaName} (${c.serviceCode}), required ${num(c.required)}`));
  }
  out.push('', wrap('Note: "current" is the quota, not what is left of it: other clusters, instances and network '
    + 'interfaces in the account and Region use the same quotas.', '  '));
  return out.join('\n');
}

function requirementJson(q: QuotaRequirement) {
  return { serviceCode: q.serviceCode, quotaName: q.quotaName, quotaCode: q.quotaCode ?? null,
    required: q.required, unit: q.unit, basis: q.basis };
}

function deploymentJson(target: Target) {
  const { shape } = target;
  return {
    name: target.label,
    groups: shape.groups.map((g) => ({ role: g.role, instanceType: g.instanceType, count: g.count,
      ebsVolumeGiB: ebsVolumeGiB(g) })),
    fileSystem: shape.fileSystem ?? true, interfaceEndpoints: shape.interfaceEndpoints ?? 0,
    natGateway: shape.natGateway ?? true, ebsTotalGiB: totalEbsGiB(shape),
  };
}

function requirementsJson(target: Target, reqs: readonly QuotaRequirement[]) {
  return { deployment: deploymentJson(target), quotas: reqs.map(requirementJson), notes: notes(target, reqs) };
}

function checksJson(target: Target, region: string, checks: readonly QuotaCheck[]) {
  return {
    deployment: deploymentJson(target),
    region,
    quotas: checks.map((c) => ({
      ...requirementJson(c), current: c.current ?? null, status: c.status,
      requestTo: c.status === QuotaStatus.REQUEST ? c.required : null,
      command: c.status === QuotaStatus.REQUEST ? requestCommand(c, region) : null,
    })),
    nothingToRequest: checks.every((c) => c.status === QuotaStatus.ENOUGH),
    notes: notes(target, checks),
  };
}

/** `cdk-hyperpod-plan quotas --help`. */
export const QUOTAS_HELP = `cdk-hyperpod-plan quotas: the service quotas a deployment needs, before asking for capacity.

Deployment (one of):
  --profile NAME           ${profileNames().join(', ')} (the reference app's profiles)
  --instance TYPE --nodes N    one compute group, e.g. ml.p5.48xlarge
  --instance-group TYPE:COUNT  a compute group, e.g. ml.p5.48xlarge:16; repeat it for more groups (with or
                           without --instance --nodes): the quotas add up across all groups
    [--controller TYPE]    Slurm controller (default ${DEFAULT_CONTROLLER})
    [--login TYPE[:COUNT]] login group (default: none; COUNT default 1)
    [--interface-endpoints]  the cluster's ${CLUSTER_INTERFACE_ENDPOINT_COUNT} interface endpoints (default: none)
  --ebs-gib N              EBS volume per node, GiB (default 500 on GPU nodes, 100 on CPU nodes)

  --check                  compare with the account's quotas (Service Quotas API, read-only; AWS credentials
                           from the SDK's default chain) and print the increase requests to file
  --region REGION          Region for --check (default: AWS_REGION, then AWS_DEFAULT_REGION)
  --json                   machine-readable output
  --help                   this text

Exit codes: 0 done (with --check: nothing to request), 1 something to request or not found (or a
failure), 2 invalid input, 3 no usable AWS credentials or no permission to read quotas.

Example: cdk-hyperpod-plan quotas --profile swallow-70b --check --region us-east-1
         cdk-hyperpod-plan quotas --instance-group ml.p5.48xlarge:16 --instance-group ml.p5.48xlarge:8 \\
           --instance-group ml.g5.12xlarge:2 --login ml.m5.4xlarge`;
