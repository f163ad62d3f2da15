import * as fs from 'fs';
import * as path from 'path';
import { DASHBOARDS_DIR } from '../../lib/observability/grafana-dashboards';
import { BackfilledPrometheus, InstantSample, RangeSeries } from './backfilled-prometheus';
import { CLUSTER, END_SECONDS, START_SECONDS, STEP_MINUTES } from './synthetic-cluster';

/**
 * Every target of every shipped dashboard panel run against a Prometheus the way Grafana runs it: the dashboard's
 * variables replaced by what an operator selects (this cluster, every node and job, the default straggler window),
 * Grafana's own ($__rate_interval, $__range) by what Grafana would send for the dashboard's time range. Table
 * targets are instant queries at the end of the range; the others are range queries over it.
 */

export interface DashboardTarget { readonly refId: string; readonly expr: string; readonly instant?: boolean; readonly legendFormat?: string }
export interface DashboardPanel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly gridPos: { x: number; y: number; w: number; h: number };
  readonly targets?: DashboardTarget[];
  readonly fieldConfig?: { defaults?: { unit?: string; min?: number; max?: number } };
  readonly options?: { sortBy?: Array<{ displayName: string; desc?: boolean }> };
  readonly transformations?: Array<{ id: string; options: { renameByName?: Record<string, string> } }>;
  readonly panels?: DashboardPanel[];
}
export interface Dashboard { readonly uid: string; readonly title: string; readonly panels: DashboardPanel[] }

export interface TargetResult {
  readonly target: DashboardTarget;
  /** The query as sent. */
  readonly query: string;
  readonly instant?: InstantSample[];
  readonly range?: RangeSeries[];
}
export interface PanelResult { readonly dashboard: Dashboard; readonly panel: DashboardPanel; readonly targets: TargetResult[] }

/** The range the dashboards are queried over: the whole synthetic run, a point per sample. */
export const RANGE = { start: START_SECONDS, end: END_SECONDS, step: STEP_MINUTES * 60 };

/**
 * Grafana's $__rate_interval is max($__interval + scrape interval, 4 x scrape interval) (grafana/grafana#77234,
 * "Prometheus: Fix $__rate_interval calculation"); with a sample every two minutes that is 8m. $__range is the
 * dashboard's time range.
 */
const VARIABLES: Record<string, string> = {
  $__rate_interval: `${4 * STEP_MINUTES}m`,
  $__range: `${(END_SECONDS - START_SECONDS) / 60}m`,
  $cluster: CLUSTER,
  $Hostname: '.*',
  $hpc_job: '.*',
  $window: '15m',
};

export function dashboards(): Dashboard[] {
  return fs.readdirSync(DASHBOARDS_DIR).filter((f) => f.endsWith('.json')).sort()
    .map((f) => JSON.parse(fs.readFileSync(path.join(DASHBOARDS_DIR, f), 'utf8')) as Dashboard);
}

export function queryPanels(dashboard: Dashboard): DashboardPanel[] {
  const flat = (ps: DashboardPanel[]): DashboardPanel[] => ps.flatMap((p) => [p, ...flat(p.panels ?? [])]);
  return flat(dashboard.panels).filter((p) => p.type !== 'row');
}

export function concreteQuery(expr: string): string {
  const out = expr.replace(/\$(__rate_interval|__range|cluster|Hostname|hpc_job|window)\b/g, (v) => VARIABLES[v]);
  if (/\$\w/.test(out)) throw new Error(`unknown dashboard variable in ${expr}`);
  return out;
}

/** Runs every target of every panel of `all` against `prometheus`, a few at a time. */
export async function runDashboards(prometheus: BackfilledPrometheus, all: Dashboard[] = dashboards()): Promise<PanelResult[]> {
  const jobs = all.flatMap((dashboard) => queryPanels(dashboard).map((panel) => ({ dashboard, panel })));
  const results: PanelResult[] = [];
  for (let i = 0; i < jobs.length; i += 8) {
    results.push(...await Promise.all(jobs.slice(i, i + 8).map(async ({ dashboard, panel }) => ({
      dashboard, panel,
      targets: await Promise.all((panel.targets ?? []).map((t) => runTarget(prometheus, t))),
    }))));
  }
  return results;
}

async function runTarget(prometheus: BackfilledPrometheus, target: DashboardTarget): Promise<TargetResult> {
  const query = concreteQuery(target.expr);
  if (target.instant) return { target, query, instant: await prometheus.instant(query, RANGE.end) };
  return { target, query, range: await prometheus.range(query, RANGE.start, RANGE.end, RANGE.step) };
}
