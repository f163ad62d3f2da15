import * as fs from 'fs';
import * as path from 'path';
import { CustomResource, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { acknowledgeManagedPolicy, acknowledgeWildcardResources } from '../core/nag-acknowledgement';

/** The dashboards shipped in this package. */
export const DASHBOARDS_DIR = path.join(__dirname, 'dashboards');
const HANDLER_DIR = path.join(__dirname, 'grafana-provisioner');

export interface GrafanaDashboardsProps {
  /** The Managed Grafana workspace ID (`g-…`). */
  readonly workspaceId: string;
  /** `https://{id}.grafana-workspace.{region}.amazonaws.com`. */
  readonly grafanaEndpoint: string;
  /** The AMP workspace's query endpoint (`…/workspaces/ws-…/`). */
  readonly prometheusUrl: string;
  /**
   * Dashboard JSON files to provision.
   * @default - every file in DASHBOARDS_DIR
   */
  readonly dashboardFiles?: string[];
  /**
   * Grafana folder for the dashboards.
   * @default 'HyperPod Training'
   */
  readonly folderTitle?: string;
}

/**
 * The Prometheus data source and the dashboards of a Managed Grafana workspace, kept in step with the stack
 * through the Grafana HTTP API (a custom resource with a short-lived service-account token): created,
 * updated when a dashboard file changes, deleted with the stack. The handler ships as plain JavaScript.
 */
export class GrafanaDashboards extends Construct {
  /** Uids of the provisioned dashboards. */
  public readonly dashboardUids: string[];

  constructor(scope: Construct, id: string, props: GrafanaDashboardsProps) {
    super(scope, id);
    const files = props.dashboardFiles ?? fs.readdirSync(DASHBOARDS_DIR)
      .filter((f) => f.endsWith('.json')).sort().map((f) => path.join(DASHBOARDS_DIR, f));
    // Minified: CloudFormation hands the properties to the handler in one event, old and new on update.
    const dashboards = files.map((f) => JSON.stringify(JSON.parse(fs.readFileSync(f, 'utf8'))));
    this.dashboardUids = dashboards.map((d) => JSON.parse(d).uid);

    const handler = new lambda.Function(this, 'Handler', {
      runtime: lambda.determineLatestNodeRuntime(this),
      code: lambda.Code.fromAsset(HANDLER_DIR),
      handler: 'index.handler',
      timeout: Duration.minutes(5),
      description: 'Provisions the Prometheus data source and dashboards of a Managed Grafana workspace',
      logGroup: new logs.LogGroup(this, 'HandlerLogs', { retention: logs.RetentionDays.ONE_YEAR }),
    });
    handler.addToRolePolicy(new iam.PolicyStatement({
      sid: 'GrafanaServiceAccountTokens',
      actions: [
        'grafana:ListWorkspaceServiceAccounts', 'grafana:CreateWorkspaceServiceAccount',
        'grafana:CreateWorkspaceServiceAccountToken', 'grafana:DeleteWorkspaceServiceAccountToken',
      ],
      resources: [Stack.of(this).formatArn({ service: 'grafana', resource: '/workspaces', resourceName: props.workspaceId })],
    }));
    const provider = new cr.Provider(this, 'Provider', { onEventHandler: handler });
    const resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::GrafanaDashboards',
      properties: {
        WorkspaceId: props.workspaceId,
        GrafanaEndpoint: props.grafanaEndpoint,
        PrometheusUrl: props.prometheusUrl,
        PrometheusRegion: Stack.of(this).region,
        Dashboards: dashboards,
        FolderTitle: props.folderTitle ?? 'HyperPod Training',
      },
    });
    resource.node.addDependency(handler);
    acknowledgeFindings(handler, provider);
  }
}

function acknowledgeFindings(handler: lambda.Function, provider: cr.Provider): void {
  const basicExecution = iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaBasicExecutionRole');
  const basicExecutionReason = 'CloudWatch Logs for the function itself, the standard Lambda execution policy.';
  acknowledgeManagedPolicy(handler, basicExecution, basicExecutionReason);
  acknowledgeManagedPolicy(provider, basicExecution, basicExecutionReason);
  Validations.of(provider).acknowledge({
    id: 'AwsSolutions-L1',
    reason: 'The custom-resource Provider framework function is aws-cdk-lib\'s; its runtime is pinned there.',
  });
  acknowledgeWildcardResources(provider, [`${handler.functionArn}:*`],
    'The Provider framework invokes every version of its own handler function.');
}
