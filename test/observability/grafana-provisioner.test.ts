import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { metricNames } from './promql';

// The handler is plain JavaScript shipped as a Lambda asset; this is the part of its surface the tests use.
interface CfnEvent {
  RequestType: 'Create' | 'Update' | 'Delete';
  PhysicalResourceId?: string;
  ResourceProperties?: Record<string, unknown>;
  OldResourceProperties?: Record<string, unknown>;
}
interface CfnResult { PhysicalResourceId: string; Data?: Record<string, string> }
interface Deps {
  grafanaClient?: FakeAmg;
  timeoutMs?: number;
  maxAttempts?: number;
  retryDelayMs?: number;
  log?: (message: string, fields?: Record<string, unknown>) => void;
}
interface Provisioner {
  handleEvent(event: CfnEvent, deps?: Deps): Promise<CfnResult>;
  handler(event: CfnEvent): Promise<CfnResult>;
  regionFromEndpoint(endpoint: string): string | undefined;
  SERVICE_ACCOUNT_NAME: string;
  TOKEN_TTL_SECONDS: number;
  DATASOURCE_VARIABLE: string;
}
const provisioner = jest.requireActual<Provisioner>('../../lib/observability/grafana-provisioner/index.js');

const DASHBOARD_DIR = path.join(__dirname, '../../lib/observability/dashboards');
const DASHBOARD_FILES = fs.readdirSync(DASHBOARD_DIR).filter((f) => f.endsWith('.json')).sort();
const DASHBOARD_TEXTS = DASHBOARD_FILES.map((f) => fs.readFileSync(path.join(DASHBOARD_DIR, f), 'utf8'));
const WORKSPACE_ID = 'g-0123456789';

// ---------------------------------------------------------------------------------------------------------------
// A Grafana HTTP API double: in-memory data sources, folders and dashboards keyed by uid, Bearer-token checks,
// and the response shapes and status codes of the real API.

type Json = Record<string, unknown>;
interface StoredDashboard { id: number; version: number; folderUid: string; dashboard: Json }
interface InjectedFault { method: string; path: RegExp; status?: number; body?: string; hang?: boolean; times: number }

class FakeGrafana {
  readonly datasources = new Map<string, Json>();
  readonly folders = new Map<string, { id: number; uid: string; title: string; version: number }>();
  readonly dashboards = new Map<string, StoredDashboard>();
  readonly validTokens = new Set<string>();
  readonly requests: string[] = [];
  private readonly faults: InjectedFault[] = [];
  private readonly hanging = new Set<http.ServerResponse>();
  private nextId = 1;
  private server?: http.Server;
  url = '';

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => this.receive(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  /** The next `times` requests matching method and path get `status`/`body` (or no answer at all). */
  inject(fault: Omit<InjectedFault, 'times'> & { times?: number }): void {
    this.faults.push({ times: 1, ...fault });
  }

  count(method: string, pathPrefix: string): number {
    return this.requests.filter((r) => r.startsWith(`${method} ${pathPrefix}`)).length;
  }

  private receive(req: http.IncomingMessage, res: http.ServerResponse): void {
    let raw = '';
    req.on('data', (chunk) => (raw += chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const method = req.method ?? 'GET';
      this.requests.push(`${method} ${url.pathname}${url.search}`);
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(typeof body === 'string' ? body : JSON.stringify(body));
      };
      const fault = this.faults.find((f) => f.times > 0 && f.method === method && f.path.test(url.pathname));
      if (fault) {
        fault.times--;
        if (fault.hang) {
          this.hanging.add(res);
          return;
        }
        return send(fault.status ?? 500, fault.body ?? '');
      }
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      if (!token || !this.validTokens.has(token)) return send(401, { message: 'Invalid API key' });
      let body: Json = {};
      try {
        body = raw ? JSON.parse(raw) : {};
      } catch {
        return send(400, { message: 'bad request data' });
      }
      const [status, answer] = this.route(method, url, body);
      send(status, answer);
    });
  }

  private route(method: string, url: URL, body: Json): [number, unknown] {
    const p = url.pathname;
    let m: RegExpExecArray | null;
    if (method === 'POST' && p === '/api/datasources') return this.createDatasource(body);
    if ((m = /^\/api\/datasources\/uid\/([^/]+)$/.exec(p))) return this.datasourceByUid(method, m[1], body);
    if (method === 'POST' && p === '/api/folders') return this.createFolder(body);
    if ((m = /^\/api\/folders\/([^/]+)$/.exec(p))) return this.folderByUid(method, m[1], body);
    if (method === 'POST' && p === '/api/dashboards/db') return this.saveDashboard(body);
    if ((m = /^\/api\/dashboards\/uid\/([^/]+)$/.exec(p))) return this.dashboardByUid(method, m[1]);
    if (method === 'GET' && p === '/api/search') return this.search(url);
    return [404, { message: 'Not found' }];
  }

  private createDatasource(body: Json): [number, unknown] {
    const uid = String(body.uid);
    const clash = [...this.datasources.values()].some((d) => d.name === body.name);
    if (this.datasources.has(uid) || clash) return [409, { message: 'data source with the same name already exists' }];
    const ds: Json = { ...body, id: this.nextId++, orgId: 1, uid, version: 1, readOnly: false, basicAuth: false };
    this.datasources.set(uid, ds);
    return [200, { datasource: ds, id: ds.id, message: 'Datasource added', name: ds.name }];
  }

  private datasourceByUid(method: string, uid: string, body: Json): [number, unknown] {
    const ds = this.datasources.get(uid);
    if (!ds) return [404, { message: 'Data source not found' }];
    if (method === 'GET') return [200, ds];
    if (method === 'DELETE') {
      this.datasources.delete(uid);
      return [200, { message: 'Data source deleted', id: ds.id }];
    }
    const updated: Json = { ...ds, ...body, id: ds.id, uid, version: (ds.version as number) + 1 };
    this.datasources.set(uid, updated);
    return [200, { datasource: updated, id: ds.id, message: 'Datasource updated', name: updated.name }];
  }

  private createFolder(body: Json): [number, unknown] {
    const uid = String(body.uid);
    if (this.folders.has(uid)) return [409, { message: 'a folder with the same uid already exists' }];
    const folder = { id: this.nextId++, uid, title: String(body.title), version: 1 };
    this.folders.set(uid, folder);
    return [200, folder];
  }

  private folderByUid(method: string, uid: string, body: Json): [number, unknown] {
    const folder = this.folders.get(uid);
    if (!folder) return [404, { message: 'folder not found' }];
    if (method === 'GET') return [200, folder];
    if (method === 'DELETE') {
      // Like Grafana, deleting a folder deletes the dashboards in it.
      for (const [duid, d] of this.dashboards) if (d.folderUid === uid) this.dashboards.delete(duid);
      this.folders.delete(uid);
      return [200, { message: 'Folder deleted', id: folder.id }];
    }
    const updated = { ...folder, title: String(body.title), version: folder.version + 1 };
    this.folders.set(uid, updated);
    return [200, updated];
  }

  private saveDashboard(body: Json): [number, unknown] {
    const dashboard = body.dashboard as Json | undefined;
    if (!dashboard?.title) return [400, { message: 'Dashboard title cannot be empty', status: 'empty-name' }];
    const folderUid = String(body.folderUid ?? '');
    if (folderUid && !this.folders.has(folderUid)) return [400, { message: 'folder not found', status: 'not-found' }];
    const uid = String(dashboard.uid);
    const existing = this.dashboards.get(uid);
    if (existing && body.overwrite !== true) {
      return [412, { message: 'The dashboard has been changed by someone else', status: 'version-mismatch' }];
    }
    const id = existing?.id ?? this.nextId++;
    const version = (existing?.version ?? 0) + 1;
    this.dashboards.set(uid, { id, version, folderUid, dashboard: { ...dashboard, id, uid, version } });
    return [200, { id, uid, url: `/d/${uid}/x`, status: 'success', version, slug: 'x' }];
  }

  private dashboardByUid(method: string, uid: string): [number, unknown] {
    const d = this.dashboards.get(uid);
    if (!d) return [404, { message: 'Dashboard not found' }];
    if (method === 'DELETE') {
      this.dashboards.delete(uid);
      return [200, { title: d.dashboard.title, message: `Dashboard ${d.dashboard.title} deleted`, id: d.id }];
    }
    const folder = this.folders.get(d.folderUid);
    return [200, { dashboard: d.dashboard, meta: { folderUid: d.folderUid, folderTitle: folder?.title, version: d.version } }];
  }

  private search(url: URL): [number, unknown] {
    // Old Grafana versions ignore folderUIDs, so this double ignores it too: callers must filter the hits.
    const hits = [...this.dashboards.values()].map((d) => ({
      id: d.id, uid: d.dashboard.uid, title: d.dashboard.title, type: 'dash-db', folderUid: d.folderUid,
    }));
    return [200, url.searchParams.get('type') === 'dash-folder' ? [] : hits];
  }
}

// ---------------------------------------------------------------------------------------------------------------
// An Amazon Managed Grafana control-plane double with the method names of @aws-sdk/client-grafana's `Grafana`.

function awsError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name });
}

class FakeAmg {
  readonly serviceAccounts: Array<{ id: string; name: string; grafanaRole: string; isDisabled: string }> = [];
  readonly tokens = new Map<string, { serviceAccountId: string; key: string; secondsToLive: number }>();
  readonly calls: string[] = [];
  readonly deletedTokens: string[] = [];
  failTokenDeletion = false;
  private next = 1;

  constructor(private readonly grafana: FakeGrafana, private readonly workspaceId = WORKSPACE_ID) {}

  async listWorkspaceServiceAccounts(input: { workspaceId: string; nextToken?: string }) {
    this.calls.push('ListWorkspaceServiceAccounts');
    this.checkWorkspace(input.workspaceId);
    // Pages of one, so that pagination is exercised.
    const start = input.nextToken ? Number(input.nextToken) : 0;
    const page = this.serviceAccounts.slice(start, start + 1);
    const nextToken = start + 1 < this.serviceAccounts.length ? String(start + 1) : undefined;
    return { serviceAccounts: page, nextToken, workspaceId: input.workspaceId };
  }

  async createWorkspaceServiceAccount(input: { workspaceId: string; name: string; grafanaRole: string }) {
    this.calls.push('CreateWorkspaceServiceAccount');
    this.checkWorkspace(input.workspaceId);
    if (this.serviceAccounts.some((sa) => sa.name === input.name)) throw awsError('ConflictException', 'exists');
    const sa = { id: String(this.next++), name: input.name, grafanaRole: input.grafanaRole, isDisabled: 'false' };
    this.serviceAccounts.push(sa);
    return { ...sa, workspaceId: input.workspaceId };
  }

  async createWorkspaceServiceAccountToken(input: {
    workspaceId: string; serviceAccountId: string; name: string; secondsToLive: number;
  }) {
    this.calls.push('CreateWorkspaceServiceAccountToken');
    this.checkWorkspace(input.workspaceId);
    if (!this.serviceAccounts.some((sa) => sa.id === input.serviceAccountId)) {
      throw awsError('ResourceNotFoundException', 'service account not found');
    }
    const id = String(this.next++);
    const key = `glsa_${id}_${Math.random().toString(36).slice(2)}`;
    this.tokens.set(id, { serviceAccountId: input.serviceAccountId, key, secondsToLive: input.secondsToLive });
    this.grafana.validTokens.add(key);
    return { serviceAccountId: input.serviceAccountId, workspaceId: input.workspaceId, serviceAccountToken: { id, key, name: input.name } };
  }

  async deleteWorkspaceServiceAccountToken(input: { workspaceId: string; serviceAccountId: string; tokenId: string }) {
    this.calls.push('DeleteWorkspaceServiceAccountToken');
    if (this.failTokenDeletion) throw awsError('InternalServerException', 'try again');
    const token = this.tokens.get(input.tokenId);
    if (!token || token.serviceAccountId !== input.serviceAccountId) throw awsError('ResourceNotFoundException', 'no token');
    this.tokens.delete(input.tokenId);
    this.grafana.validTokens.delete(token.key);
    this.deletedTokens.push(input.tokenId);
    return { serviceAccountId: input.serviceAccountId, tokenId: input.tokenId, workspaceId: input.workspaceId };
  }

  private checkWorkspace(workspaceId: string): void {
    if (workspaceId !== this.workspaceId) throw awsError('ResourceNotFoundException', `workspace ${workspaceId} not found`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

let grafana: FakeGrafana;
let amg: FakeAmg;
let logs: string[];

beforeEach(async () => {
  grafana = new FakeGrafana();
  await grafana.start();
  amg = new FakeAmg(grafana);
  logs = [];
});

afterEach(async () => {
  await grafana.stop();
});

function deps(overrides: Partial<Deps> = {}): Deps {
  return {
    grafanaClient: amg,
    timeoutMs: 2_000,
    retryDelayMs: 5,
    log: (message, fields) => logs.push(JSON.stringify({ message, ...fields })),
    ...overrides,
  };
}

function props(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ServiceToken: 'arn:aws:lambda:us-east-1:111122223333:function:provider',
    WorkspaceId: WORKSPACE_ID,
    GrafanaEndpoint: grafana.url,
    PrometheusUrl: 'https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-0a1b2c3d-4e5f-6789-abcd-ef0123456789/',
    PrometheusRegion: 'us-east-1',
    FolderTitle: 'HyperPod Training',
    Dashboards: DASHBOARD_TEXTS,
    ...overrides,
  };
}

function create(p = props(), d = deps()): Promise<CfnResult> {
  return provisioner.handleEvent({ RequestType: 'Create', ResourceProperties: p }, d);
}

function update(physicalId: string, p: Record<string, unknown>, old: Record<string, unknown>, d = deps()) {
  return provisioner.handleEvent(
    { RequestType: 'Update', PhysicalResourceId: physicalId, ResourceProperties: p, OldResourceProperties: old }, d);
}

function remove(physicalId: string, p = props(), d = deps()): Promise<CfnResult> {
  return provisioner.handleEvent({ RequestType: 'Delete', PhysicalResourceId: physicalId, ResourceProperties: p }, d);
}

/** The message of the error `promise` rejects with; fails the test when it resolves. */
async function failureOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected the promise to reject');
}

function dashboardDoc(uid: string, title: string, expr = 'avg(DCGM_FI_DEV_GPU_UTIL)'): string {
  return JSON.stringify({
    uid, title, schemaVersion: 39,
    panels: [{ id: 1, type: 'timeseries', title: 'GPU', datasource: { type: 'prometheus', uid: '${DS_PROMETHEUS}' },
      targets: [{ refId: 'A', datasource: { type: 'prometheus', uid: '${DS_PROMETHEUS}' }, expr }] }],
  });
}

function uidsOf(texts: string[]): string[] {
  return texts.map((t) => JSON.parse(t).uid as string);
}

function versions(): Record<string, number> {
  return Object.fromEntries([...grafana.dashboards].map(([uid, d]) => [uid, d.version]));
}

/** Every `datasource.uid` anywhere in a document. */
function datasourceUids(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((v) => datasourceUids(v, found));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'datasource' && v && typeof v === 'object' && 'uid' in v) found.push(String((v as Json).uid));
      datasourceUids(v, found);
    }
  }
  return found;
}

// ---------------------------------------------------------------------------------------------------------------
// Lifecycle

describe('Create', () => {
  test('creates the data source, the folder and every dashboard, and returns ids', async () => {
    const result = await create();

    expect(result).toEqual({
      PhysicalResourceId: `${WORKSPACE_ID}/hyperpod-training`,
      Data: { DatasourceUid: 'hyperpod-amp', FolderUid: 'hyperpod-training', DashboardUids: uidsOf(DASHBOARD_TEXTS).join(',') },
    });
    expect(grafana.datasources.get('hyperpod-amp')).toMatchObject({
      name: 'AMP (hyperpod-amp)',
      type: 'prometheus',
      access: 'proxy',
      url: 'https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-0a1b2c3d-4e5f-6789-abcd-ef0123456789',
      jsonData: { httpMethod: 'POST', sigV4Auth: true, sigV4AuthType: 'ec2_iam_role', sigV4Region: 'us-east-1' },
    });
    expect(grafana.folders.get('hyperpod-training')?.title).toBe('HyperPod Training');
    expect([...grafana.dashboards.keys()].sort()).toEqual(uidsOf(DASHBOARD_TEXTS).sort());
    for (const stored of grafana.dashboards.values()) {
      expect(stored.folderUid).toBe('hyperpod-training');
      expect(JSON.stringify(stored.dashboard)).not.toContain(provisioner.DATASOURCE_VARIABLE);
      expect(stored.dashboard).not.toHaveProperty('__inputs');
      const uids = datasourceUids(stored.dashboard);
      expect(uids.length).toBeGreaterThan(0);
      expect(new Set(uids)).toEqual(new Set(['hyperpod-amp']));
    }
  });

  test('creates an ADMIN service account once, then reuses it', async () => {
    await create();
    await create();

    expect(amg.serviceAccounts).toEqual([
      { id: expect.any(String), name: provisioner.SERVICE_ACCOUNT_NAME, grafanaRole: 'ADMIN', isDisabled: 'false' },
    ]);
    expect(amg.calls.filter((c) => c === 'CreateWorkspaceServiceAccount')).toHaveLength(1);
  });

  test('finds its service account on a later page of the listing', async () => {
    amg.serviceAccounts.push({ id: '900', name: 'someone-else', grafanaRole: 'VIEWER', isDisabled: 'false' });
    amg.serviceAccounts.push({ id: '901', name: provisioner.SERVICE_ACCOUNT_NAME, grafanaRole: 'ADMIN', isDisabled: 'false' });

    await create();

    expect(amg.calls).not.toContain('CreateWorkspaceServiceAccount');
    expect(amg.deletedTokens).toHaveLength(1);
  });

  test('refuses a same-named service account that is not an ADMIN', async () => {
    amg.serviceAccounts.push({ id: '901', name: provisioner.SERVICE_ACCOUNT_NAME, grafanaRole: 'VIEWER', isDisabled: 'false' });

    expect(await failureOf(create())).toMatch(/not an enabled ADMIN \(role VIEWER/);
    expect(grafana.requests).toEqual([]);
  });

  test('uses the ServiceAccountId it is given without listing or creating accounts', async () => {
    amg.serviceAccounts.push({ id: '777', name: 'platform-admin', grafanaRole: 'ADMIN', isDisabled: 'false' });

    await create(props({ ServiceAccountId: '777' }));

    expect(amg.calls).toEqual(['CreateWorkspaceServiceAccountToken', 'DeleteWorkspaceServiceAccountToken']);
    expect(grafana.datasources.size).toBe(1);
  });

  test.each([
    ['missing WorkspaceId', { WorkspaceId: undefined }, /ResourceProperties\.WorkspaceId is required/],
    ['malformed WorkspaceId', { WorkspaceId: 'ws-123' }, /WorkspaceId must match/],
    ['an empty PrometheusUrl', { PrometheusUrl: '' }, /ResourceProperties\.PrometheusUrl is required/],
    ['Dashboards that are not a list', { Dashboards: 'not a list' }, /Dashboards must be a list/],
    ['a dashboard that is not JSON', { Dashboards: [dashboardDoc('a', 'A'), '{ nope'] }, /Dashboards\[1\] is not valid JSON/],
    ['a dashboard without uid', { Dashboards: [JSON.stringify({ title: 'No uid' })] }, /Dashboards\[0\] needs a "uid"/],
    ['duplicate uids', { Dashboards: [dashboardDoc('a', 'A'), dashboardDoc('a', 'B')] }, /uid "a" more than once/],
    ['a DatasourceUid Grafana refuses', { DatasourceUid: 'has spaces' }, /DatasourceUid must match/],
  ])('rejects %s before minting a token', async (_name, overrides, message) => {
    expect(await failureOf(create(props(overrides)))).toMatch(message);
    expect(amg.calls).toEqual([]);
    expect(grafana.requests).toEqual([]);
  });
});

describe('Update', () => {
  test('saves changed dashboards only, bumping their version, and keeps the physical id', async () => {
    const before = [dashboardDoc('one', 'One'), dashboardDoc('two', 'Two')];
    const { PhysicalResourceId } = await create(props({ Dashboards: before }));
    const after = [dashboardDoc('one', 'One'), dashboardDoc('two', 'Two, revised', 'max(DCGM_FI_DEV_GPU_TEMP)')];

    const result = await update(PhysicalResourceId, props({ Dashboards: after }), props({ Dashboards: before }));

    expect(result.PhysicalResourceId).toBe(PhysicalResourceId);
    expect(versions()).toEqual({ one: 1, two: 2 });
    const two = grafana.dashboards.get('two')!.dashboard as { title: string; panels: Array<{ targets: Json[] }> };
    expect(two.title).toBe('Two, revised');
    expect(two.panels[0].targets[0].expr).toBe('max(DCGM_FI_DEV_GPU_TEMP)');
  });

  test('is idempotent: the same update again changes nothing in Grafana', async () => {
    const { PhysicalResourceId } = await create();
    const writesBefore = grafana.requests.filter((r) => !r.startsWith('GET')).length;
    const versionsBefore = versions();

    await update(PhysicalResourceId, props(), props());
    await update(PhysicalResourceId, props(), props());

    expect(versions()).toEqual(versionsBefore);
    expect(grafana.datasources.get('hyperpod-amp')?.version).toBe(1);
    expect(grafana.requests.filter((r) => !r.startsWith('GET')).length).toBe(writesBefore);
  });

  test('deletes a dashboard that is no longer in the list', async () => {
    const before = [dashboardDoc('one', 'One'), dashboardDoc('two', 'Two')];
    const { PhysicalResourceId } = await create(props({ Dashboards: before }));

    await update(PhysicalResourceId, props({ Dashboards: [before[0]] }), props({ Dashboards: before }));

    expect([...grafana.dashboards.keys()]).toEqual(['one']);
    expect(grafana.count('DELETE', '/api/dashboards/uid/two')).toBe(1);
  });

  test('moves to a new data source uid and removes the old data source', async () => {
    const { PhysicalResourceId } = await create();

    await update(PhysicalResourceId, props({ DatasourceUid: 'amp-v2' }), props());

    expect([...grafana.datasources.keys()]).toEqual(['amp-v2']);
    for (const stored of grafana.dashboards.values()) {
      expect(new Set(datasourceUids(stored.dashboard))).toEqual(new Set(['amp-v2']));
    }
  });

  test('updates the data source when the Prometheus endpoint changes', async () => {
    const { PhysicalResourceId } = await create();
    const moved = props({ PrometheusUrl: 'https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-new/', PrometheusRegion: 'eu-west-1' });

    await update(PhysicalResourceId, moved, props());

    expect(grafana.datasources.get('hyperpod-amp')).toMatchObject({
      version: 2,
      url: 'https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-new',
      jsonData: expect.objectContaining({ sigV4Region: 'eu-west-1' }),
    });
  });

  test('moves dashboards to a new folder and removes the old, now empty, folder', async () => {
    const { PhysicalResourceId } = await create();

    const result = await update(PhysicalResourceId, props({ FolderUid: 'llm-training', FolderTitle: 'LLM' }), props());

    expect(result.PhysicalResourceId).toBe(PhysicalResourceId);
    expect([...grafana.folders.keys()]).toEqual(['llm-training']);
    expect(new Set([...grafana.dashboards.values()].map((d) => d.folderUid))).toEqual(new Set(['llm-training']));
    expect(grafana.dashboards.size).toBe(DASHBOARD_TEXTS.length);
  });

  test('a new workspace is a replacement: new physical id, nothing removed from the old one', async () => {
    const { PhysicalResourceId } = await create();
    const other = new FakeAmg(grafana, 'g-abcdefabcd');

    const result = await update(PhysicalResourceId, props({ WorkspaceId: 'g-abcdefabcd' }), props(), deps({ grafanaClient: other }));

    expect(result.PhysicalResourceId).toBe('g-abcdefabcd/hyperpod-training');
    expect(grafana.requests.filter((r) => r.startsWith('DELETE'))).toEqual([]);
  });
});

describe('Delete', () => {
  test('removes the dashboards, the data source and the folder', async () => {
    const { PhysicalResourceId } = await create();

    const result = await remove(PhysicalResourceId);

    expect(result).toEqual({ PhysicalResourceId });
    expect(grafana.dashboards.size).toBe(0);
    expect(grafana.datasources.size).toBe(0);
    expect(grafana.folders.size).toBe(0);
  });

  test('tolerates what is already gone (404)', async () => {
    const { PhysicalResourceId } = await create();
    await remove(PhysicalResourceId);

    await remove(PhysicalResourceId);

    expect(grafana.count('DELETE', '/api/datasources/uid/hyperpod-amp')).toBe(2);
    expect(amg.tokens.size).toBe(0);
  });

  test('keeps the folder, and a dashboard someone else put in it', async () => {
    const { PhysicalResourceId } = await create();
    grafana.dashboards.set('users-own', { id: 99, version: 1, folderUid: 'hyperpod-training', dashboard: { uid: 'users-own', title: 'Mine' } });

    await remove(PhysicalResourceId);

    expect([...grafana.dashboards.keys()]).toEqual(['users-own']);
    expect(grafana.folders.has('hyperpod-training')).toBe(true);
  });

  test('succeeds without calling anything when the properties never validated', async () => {
    const result = await remove('g-0123456789/hyperpod-training', props({ Dashboards: ['{ broken'] }));

    expect(result.PhysicalResourceId).toBe('g-0123456789/hyperpod-training');
    expect(amg.calls).toEqual([]);
  });

  test('succeeds when the workspace no longer exists', async () => {
    const gone = new FakeAmg(grafana, 'g-ffffffffff');

    await remove('g-0123456789/hyperpod-training', props(), deps({ grafanaClient: gone }));

    expect(gone.calls).toEqual(['ListWorkspaceServiceAccounts']);
    expect(logs.join('\n')).toContain('workspace not found');
  });
});

describe('errors, timeouts and the token', () => {
  test('an API error carries the method, path, HTTP status and response body', async () => {
    grafana.inject({ method: 'POST', path: /^\/api\/datasources$/, status: 403, body: '{"message":"Permissions needed: datasources:create"}' });

    const message = await failureOf(create());

    expect(message).toBe('Grafana API POST /api/datasources returned HTTP 403: {"message":"Permissions needed: datasources:create"}');
  });

  test('a real rejection from the double: saving into a folder that does not exist', async () => {
    grafana.inject({ method: 'POST', path: /^\/api\/folders$/, status: 200, body: '{}' });

    const message = await failureOf(create());

    expect(message).toMatch(/POST \/api\/dashboards\/db returned HTTP 400: \{"message":"folder not found"/);
  });

  test('the token is deleted after success and after failure, and never logged', async () => {
    grafana.inject({ method: 'POST', path: /^\/api\/dashboards\/db$/, status: 500, body: '{"message":"db is locked"}' });
    expect(await failureOf(create())).toMatch(/HTTP 500/);
    await create();

    expect(amg.calls.filter((c) => c === 'CreateWorkspaceServiceAccountToken')).toHaveLength(2);
    expect(amg.deletedTokens).toHaveLength(2);
    expect(amg.tokens.size).toBe(0);
    expect(grafana.validTokens.size).toBe(0);
    const ttl = provisioner.TOKEN_TTL_SECONDS;
    expect(ttl).toBeGreaterThanOrEqual(300);
    expect(ttl).toBeLessThanOrEqual(900);
    expect(logs.length).toBeGreaterThan(0);
    expect(logs.join('\n')).not.toMatch(/glsa_/);
  });

  test('the API refuses requests without a valid token', async () => {
    const res = await fetch(`${grafana.url}/api/datasources/uid/hyperpod-amp`, { headers: { Authorization: 'Bearer stale' } });

    expect(res.status).toBe(401);
  });

  test('a failing token deletion does not hide the real error', async () => {
    amg.failTokenDeletion = true;
    grafana.inject({ method: 'GET', path: /^\/api\/datasources\/uid\//, status: 400, body: '{"message":"bad uid"}' });

    expect(await failureOf(create())).toMatch(/HTTP 400: \{"message":"bad uid"\}/);
    expect(logs.join('\n')).toContain('token deletion failed');
  });

  test('retries a gateway error, then succeeds', async () => {
    grafana.inject({ method: 'POST', path: /^\/api\/dashboards\/db$/, status: 503, body: 'Service Unavailable', times: 2 });

    await create();

    expect(grafana.dashboards.size).toBe(DASHBOARD_TEXTS.length);
    expect(grafana.count('POST', '/api/dashboards/db')).toBe(DASHBOARD_TEXTS.length + 2);
  });

  test('a request that never answers times out, and the token is still deleted', async () => {
    grafana.inject({ method: 'GET', path: /^\/api\/datasources\/uid\//, hang: true, times: 2 });
    const started = Date.now();

    const message = await failureOf(create(props(), deps({ timeoutMs: 150, maxAttempts: 2 })));

    expect(message).toBe('Grafana API GET /api/datasources/uid/hyperpod-amp failed: timed out after 150 ms');
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(amg.tokens.size).toBe(0);
  });

  test('a data source created meanwhile (409 on POST) is updated instead', async () => {
    grafana.inject({ method: 'GET', path: /^\/api\/datasources\/uid\//, status: 404, body: '{"message":"Data source not found"}' });
    grafana.datasources.set('hyperpod-amp', { uid: 'hyperpod-amp', name: 'AMP (hyperpod-amp)', id: 50, version: 1 });

    await create();

    expect(grafana.datasources.get('hyperpod-amp')).toMatchObject({ version: 2, type: 'prometheus' });
  });

  test('the AMG region comes from the workspace endpoint', () => {
    expect(provisioner.regionFromEndpoint('https://g-0123456789.grafana-workspace.eu-central-1.amazonaws.com')).toBe('eu-central-1');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The dashboards shipped in lib/observability/dashboards

/** The DCGM exporter's field list as the nodes get it: field name -> Prometheus type (label fields are no series). */
const DCGM_CSV = path.join(__dirname, '../../lib/cluster/lifecycle/observability/dcgm-metrics.csv');
const DCGM_FIELDS: Map<string, string> = new Map(fs.readFileSync(DCGM_CSV, 'utf8').split('\n')
  .filter((line) => line.trim() !== '' && !line.startsWith('#'))
  .map((line) => line.split(',').map((cell) => cell.trim()))
  .filter(([, type]) => type !== 'label')
  .map(([field, type]) => [field, type]));

/** The other exporters' series the dashboards may query, with their types: the EFA counters and node_exporter. */
const OTHER_METRICS: Record<string, 'counter' | 'gauge'> = {
  node_amazonefa_tx_bytes: 'counter', node_amazonefa_rx_bytes: 'counter', node_amazonefa_rx_drops: 'counter',
  node_amazonefa_retrans_pkts: 'counter', node_amazonefa_retrans_timeout_events: 'counter',
  node_amazonefa_unresponsive_remote_events: 'counter', node_amazonefa_impaired_remote_conn_events: 'counter',
  node_amazonefa_rdma_read_wr_err: 'counter', node_amazonefa_rdma_write_wr_err: 'counter',
  node_cpu_seconds_total: 'counter', node_load1: 'gauge', node_memory_MemAvailable_bytes: 'gauge',
  node_memory_MemTotal_bytes: 'gauge', node_filesystem_avail_bytes: 'gauge', node_filesystem_size_bytes: 'gauge',
  node_disk_read_bytes_total: 'counter', node_disk_written_bytes_total: 'counter',
  node_network_receive_bytes_total: 'counter', node_network_transmit_bytes_total: 'counter',
  node_network_receive_errs_total: 'counter', node_network_transmit_errs_total: 'counter',
  node_network_receive_drop_total: 'counter', node_network_transmit_drop_total: 'counter', node_uname_info: 'gauge',
  node_textfile_mtime_seconds: 'gauge', node_textfile_scrape_error: 'gauge', up: 'gauge',
  // lib/cluster/lifecycle: hyperpod_node.prom and hyperpod_lifecycle.prom (70-observability, on_init_complete),
  // bin/slurm-metrics on the controller, bin/megatron-metrics on each job's batch host.
  hyperpod_node_expected_gpus: 'gauge', hyperpod_node_expected_efa_devices: 'gauge', hyperpod_lifecycle_step_failed: 'gauge',
  slurm_controller_up: 'gauge', slurm_node_state: 'gauge',
  ...Object.fromEntries(['iteration', 'train_iterations', 'iteration_time_seconds', 'throughput_tflops_per_gpu',
    'throughput_tokens_per_second_per_gpu', 'learning_rate', 'loss', 'loss_scale', 'grad_norm', 'progress_timestamp_seconds',
    'last_checkpoint_timestamp_seconds', 'last_checkpoint_iteration', 'start_timestamp_seconds', 'plan_tflops_per_gpu',
    'plan_tokens_per_second_per_gpu', 'plan_iteration_seconds', 'plan_save_interval_seconds', 'plan_gpus',
    'straggler_rank_tflops'].map((m) => [`megatron_${m}`, 'gauge' as const])),
  megatron_skipped_iterations_total: 'counter', megatron_nan_iterations_total: 'counter',
};
/** Metric names the node collectors ship, with their Prometheus types: the DCGM fields of dcgm-metrics.csv and the rest. */
const METRIC_TYPES = new Map([...DCGM_FIELDS, ...Object.entries(OTHER_METRICS)]);
const KNOWN_METRICS = new Set(METRIC_TYPES.keys());

interface Panel { type: string; title?: string; datasource?: { type?: string; uid?: string }; targets?: Array<{ expr?: string; datasource?: { uid?: string } }>; panels?: Panel[] }
interface DashboardDoc {
  uid: string; title: string; schemaVersion: number; panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query?: unknown; datasource?: { uid?: string } }> };
}
const DOCS: Array<[string, DashboardDoc]> = DASHBOARD_FILES.map((f, i) => [f, JSON.parse(DASHBOARD_TEXTS[i])]);

function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

function queriesOf(doc: DashboardDoc): string[] {
  const exprs = allPanels(doc.panels).flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? ''));
  const variables = doc.templating.list.filter((v) => v.type === 'query').map((v) => String(v.query));
  return [...exprs, ...variables];
}

/** The metrics a PromQL expression takes the rate or increase of: the selectors directly inside rate, irate, increase. */
function ratedMetrics(expr: string): string[] {
  return [...expr.matchAll(/\b(?:rate|irate|increase)\s*\(\s*([A-Za-z_:][A-Za-z0-9_:]*)/g)].map((m) => m[1]);
}

/** Grafana's variables replaced by values PromQL accepts, for checking with promtool. */
function concrete(expr: string): string {
  return expr.replace(/\$__rate_interval/g, '1m').replace(/\$__range/g, '1h').replace(/\$window/g, '15m')
    .replace(/\$Hostname/g, '.*').replace(/\$cluster/g, '.*').replace(/\$hpc_job/g, '.*');
}

function promtool(args: string[], files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dashboards-promtool-'));
  try {
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
    return execFileSync('promtool', args, { cwd: dir, encoding: 'utf8', timeout: 30_000, stdio: 'pipe' });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

interface InputSeries { series: string; values: string }
interface Sample { labels: string; value: number }

/** The panel query, made concrete, evaluated by promtool on 15-second samples: promtool's report ('SUCCESS' or the diff). */
function evaluate(expr: string, series: InputSeries[], evalTime: string, samples: Sample[]): string {
  const suite = {
    rule_files: ['empty.yml'],
    evaluation_interval: '15s',
    tests: [{ interval: '15s', input_series: series, promql_expr_test: [{ expr: concrete(expr), eval_time: evalTime, exp_samples: samples }] }],
  };
  try {
    return promtool(['test', 'rules', 'test.json'], { 'test.json': JSON.stringify(suite), 'empty.yml': 'groups: []\n' });
  } catch (e) {
    const { stdout, stderr } = e as { stdout?: string; stderr?: string };
    return `${stdout ?? ''}${stderr ?? ''}`;
  }
}

function panelOf(file: string, title: string): Panel {
  const doc = DOCS.find(([f]) => f === file)![1];
  return allPanels(doc.panels).find((p) => p.title === title)!;
}

describe('dashboards', () => {
  test('there are the five dashboards, each parses, with unique uids and titles', () => {
    expect(DASHBOARD_FILES).toEqual(['efa.json', 'gpu-dcgm.json', 'nodes.json', 'training-job.json', 'training-overview.json']);
    const uids = DOCS.map(([, d]) => d.uid);
    expect(new Set(uids).size).toBe(uids.length);
    expect(new Set(DOCS.map(([, d]) => d.title)).size).toBe(uids.length);
    for (const [, d] of DOCS) expect(d.uid).toMatch(/^[A-Za-z0-9_-]{1,40}$/);
  });

  test.each(DOCS)('%s: schema, Cluster and Hostname variables, unique panel ids', (_file, doc) => {
    expect(doc.schemaVersion).toBeGreaterThanOrEqual(36);
    const names = doc.templating.list.map((v) => v.name);
    const [cluster, hostname] = ['cluster', 'Hostname'].map((n) => doc.templating.list.find((v) => v.name === n));
    // Every series carries cluster (the collector's external label); Grafana resolves a variable after those before it.
    expect(cluster).toMatchObject({ type: 'query', datasource: { uid: provisioner.DATASOURCE_VARIABLE } });
    expect(String(cluster?.query)).toMatch(/^label_values\(\w+, cluster\)$/);
    expect(hostname).toMatchObject({ type: 'query', datasource: { uid: provisioner.DATASOURCE_VARIABLE } });
    expect(String(hostname?.query)).toMatch(/^label_values\(\w+\{cluster=~"\$cluster"\}, Hostname\)$/);
    expect(names.indexOf('cluster')).toBeLessThan(names.indexOf('Hostname'));
    const ids = allPanels(doc.panels).map((p) => (p as { id?: number }).id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  test.each(DOCS)('%s: every panel and target queries the provisioned data source', (_file, doc) => {
    const queryPanels = allPanels(doc.panels).filter((p) => p.type !== 'row');
    expect(queryPanels.length).toBeGreaterThan(3);
    for (const panel of queryPanels) {
      expect({ title: panel.title, uid: panel.datasource?.uid }).toEqual({ title: panel.title, uid: provisioner.DATASOURCE_VARIABLE });
      expect(panel.targets?.length).toBeGreaterThan(0);
      for (const t of panel.targets ?? []) {
        expect({ title: panel.title, uid: t.datasource?.uid }).toEqual({ title: panel.title, uid: provisioner.DATASOURCE_VARIABLE });
      }
    }
  });

  test.each(DOCS)('%s: every query uses known metrics only', (_file, doc) => {
    for (const expr of queriesOf(doc)) {
      const names = metricNames(expr);
      expect({ expr, names: names.length > 0 }).toEqual({ expr, names: true });
      expect({ expr, unknown: names.filter((n) => !KNOWN_METRICS.has(n)) }).toEqual({ expr, unknown: [] });
    }
  });

  test.each(DOCS)('%s: no rate(), irate() or increase() over a gauge', (_file, doc) => {
    for (const expr of queriesOf(doc)) {
      const gauges = ratedMetrics(expr).filter((m) => METRIC_TYPES.get(m) !== 'counter');
      expect({ expr, gauges }).toEqual({ expr, gauges: [] });
    }
  });

  test('every DCGM field a dashboard queries is in dcgm-metrics.csv, which the exporter on the nodes reads', () => {
    const fields = [...new Set(DOCS.flatMap(([, doc]) => queriesOf(doc).flatMap(metricNames)).filter((n) => n.startsWith('DCGM_')))];
    expect(fields.length).toBeGreaterThan(10);
    expect(fields.filter((f) => !DCGM_FIELDS.has(f))).toEqual([]);
    expect(fields).toEqual(expect.arrayContaining(['DCGM_FI_PROF_NVLINK_TX_BYTES', 'DCGM_FI_PROF_NVLINK_RX_BYTES']));
    // A throughput DCGM computes at each sample: a gauge, although dcgm-exporter's own lists say counter
    // (NVIDIA/dcgm-exporter#417 "counter value goes down"); rate() over it is meaningless.
    expect(DCGM_FIELDS.get('DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL')).toBe('gauge');
  });

  test('the rate check knows counters from gauges', () => {
    expect(ratedMetrics('sum(rate(DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL{Hostname=~"$Hostname"}[5m])) + increase(node_load1[1m])'))
      .toEqual(['DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL', 'node_load1']);
    expect(['DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL', 'DCGM_FI_PROF_NVLINK_TX_BYTES', 'node_load1'].map((m) => METRIC_TYPES.get(m)))
      .toEqual(['gauge', 'gauge', 'gauge']);
    expect(['DCGM_FI_DEV_POWER_VIOLATION', 'node_amazonefa_rdma_read_wr_err'].map((m) => METRIC_TYPES.get(m)))
      .toEqual(['counter', 'counter']);
  });

  test.each(DOCS)('%s: every series selector is narrowed to the Cluster variable', (_file, doc) => {
    for (const expr of queriesOf(doc).filter((e) => !e.startsWith('label_values'))) {
      const selectors = [...expr.matchAll(/\b([A-Za-z_:][A-Za-z0-9_:]*)(\{[^}]*\})?/g)].filter((m) => KNOWN_METRICS.has(m[1]));
      expect(selectors.length).toBeGreaterThan(0);
      expect({ expr, unnarrowed: selectors.filter((m) => !m[2]?.includes('cluster=~"$cluster"')).map((m) => m[1]) })
        .toEqual({ expr, unnarrowed: [] });
    }
  });

  test('the metric-name extraction catches an unknown metric', () => {
    expect(metricNames('sum by (Hostname) (rate(node_amazonefa_tx_byte{Hostname=~"$Hostname"}[$__rate_interval]))'))
      .toEqual(['node_amazonefa_tx_byte']);
  });

  test('GPU series are filtered by the Hostname variable except where the whole cluster is compared', () => {
    const gpu = DOCS.find(([f]) => f === 'gpu-dcgm.json')![1];
    for (const expr of queriesOf(gpu).filter((e) => !e.startsWith('label_values'))) {
      expect(expr).toContain('Hostname=~"$Hostname"');
    }
  });

  test('together they fit in a custom-resource event with old and new properties', () => {
    const minified = DASHBOARD_TEXTS.reduce((n, t) => n + JSON.stringify(JSON.parse(t)).length, 0);
    // Create/Update events reach the provider asynchronously (256 KB payload); Update carries both copies.
    expect(2 * minified).toBeLessThan(200 * 1024);
  });

  test('every query is valid PromQL (promtool check rules)', () => {
    const rules = DOCS.flatMap(([file, doc]) => queriesOf(doc)
      .filter((e) => !e.startsWith('label_values'))
      .map((expr, i) => ({ record: `dashboard:${file.replace(/\W/g, '_')}:${i}`, expr: concrete(expr) })));
    const out = promtool(['check', 'rules', 'rules.json'], { 'rules.json': JSON.stringify({ groups: [{ name: 'dashboards', rules }] }) });

    expect(out).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  test('the host-bound ranking puts each node against the best quartile of its own job (promtool test rules)', () => {
    const expr = panelOf('training-overview.json', 'Host/input-bound: GPU utilisation vs job peers').targets![0].expr!;
    // Two GPUs per node. Job 1001: three nodes at 97 %, node-d at 50 % (one GPU idle). Job 1002: three at 60 %, node-h at
    // 30 %. node-i is in no job (no hpc_job) and idle: it is neither listed nor a peer of anyone.
    const gpu = (host: string, job: string | undefined, i: number, value: number) => ({
      series: `DCGM_FI_DEV_GPU_UTIL{cluster="c1", Hostname="${host}", gpu="${i}"${job ? `, hpc_job="${job}"` : ''}}`,
      values: `${value}+0x40`,
    });
    const nodes: Array<[string, string | undefined, number, number]> = [
      ['node-a', '1001', 97, 97], ['node-b', '1001', 97, 97], ['node-c', '1001', 97, 97], ['node-d', '1001', 100, 0],
      ['node-e', '1002', 60, 60], ['node-f', '1002', 60, 60], ['node-g', '1002', 60, 60], ['node-h', '1002', 60, 0],
      ['node-i', undefined, 0, 0],
    ];
    const row = (host: string, job: string, value: number) => ({ labels: `{cluster="c1", hpc_job="${job}", Hostname="${host}"}`, value });

    expect(evaluate(expr, nodes.flatMap(([h, j, g0, g1]) => [gpu(h, j, 0, g0), gpu(h, j, 1, g1)]), '10m', [
      row('node-d', '1001', 100 * 50 / 97), row('node-h', '1002', 50),
      row('node-a', '1001', 100), row('node-b', '1001', 100), row('node-c', '1001', 100),
      row('node-e', '1002', 100), row('node-f', '1002', 100), row('node-g', '1002', 100),
    ])).toContain('SUCCESS');
  });

  // DCGM_FI_DEV_*_VIOLATION count nanoseconds of throttling: the DCGM field reference
  // (docs.nvidia.com/datacenter/dcgm/latest/dcgm-api/dcgm-api-field-ids.html#c.DCGM_FI_DEV_POWER_VIOLATION), NVML's
  // nvmlViolationTime_t ("violationTime in Nanoseconds"), and dcgm-exporter's etc/default-counters.csv since
  // NVIDIA/dcgm-exporter#589 (commit e61056b, "us->ns"). Their rate is nanoseconds per second: / 1e9 is the share.
  test('violation counters are nanoseconds: every query divides their rate by 1e9, none by 1e6', () => {
    const exprs = DOCS.flatMap(([, doc]) => queriesOf(doc)).filter((e) => /_VIOLATION\b/.test(e));
    expect(exprs.length).toBeGreaterThan(0);
    for (const expr of exprs) {
      expect({ expr, perNanosecond: /\)\s*\/\s*1e9$/.test(expr), microseconds: /1e6|1000000/.test(expr) })
        .toEqual({ expr, perNanosecond: true, microseconds: false });
    }
  });

  test('clock throttling is the share of time the worst GPU of a node was throttled (promtool, ns counters)', () => {
    const panel = panelOf('gpu-dcgm.json', 'Clock throttling');
    const [thermal, power] = panel.targets!.map((t) => t.expr!);
    // Eight GPUs per node, counters in nanoseconds since boot, sampled every 15 s. On node-a GPU 0 is held back for
    // temperature a quarter of the time (3.75e9 ns a sample) and GPU 3 a tenth (1.5e9 ns), GPU 5 for power a tenth;
    // every other counter stands still at its boot-time total. The worst GPU, not the sum over eight, is the node's value.
    const gpu = (metric: string, host: string, i: number, values: string) =>
      ({ series: `${metric}{cluster="c1", Hostname="${host}", gpu="${i}", UUID="GPU-${host}-${i}"}`, values });
    const node = (metric: string, host: string, nsPerSample: Record<number, number>) =>
      [...Array(8).keys()].map((i) => gpu(metric, host, i, i in nsPerSample ? `4.2e11+${nsPerSample[i]}x40` : '1.3e12+0x40'));
    const series = [
      ...node('DCGM_FI_DEV_THERMAL_VIOLATION', 'node-a', { 0: 3.75e9, 3: 1.5e9 }), ...node('DCGM_FI_DEV_THERMAL_VIOLATION', 'node-b', {}),
      ...node('DCGM_FI_DEV_POWER_VIOLATION', 'node-a', { 5: 1.5e9 }), ...node('DCGM_FI_DEV_POWER_VIOLATION', 'node-b', {}),
    ];
    const perNode = (a: number, b: number) =>
      [{ labels: '{cluster="c1", Hostname="node-a"}', value: a }, { labels: '{cluster="c1", Hostname="node-b"}', value: b }];

    expect(evaluate(thermal, series, '5m', perNode(0.25, 0))).toContain('SUCCESS');
    expect(evaluate(power, series, '5m', perNode(0.1, 0))).toContain('SUCCESS');
  });

  test('NVLink traffic is the bytes per second a node\'s GPUs send and receive (promtool, B/s gauges)', () => {
    const expr = panelOf('gpu-dcgm.json', 'NVLink traffic by node').targets![0].expr!;
    // DCGM_FI_PROF_NVLINK_{TX,RX}_BYTES are gauges in bytes per second, one per GPU. node-a's eight GPUs ramp up while
    // receiving less and less (at 5 min, sample 20: 4.2e10 B/s sent and 3.3e10 received each); node-b's stay at 1e10 each way.
    const gpu = (metric: string, host: string, i: number, values: string) =>
      ({ series: `${metric}{cluster="c1", Hostname="${host}", gpu="${i}", UUID="GPU-${host}-${i}"}`, values });
    const gpus = (metric: string, host: string, values: string) => [...Array(8).keys()].map((i) => gpu(metric, host, i, values));
    const series = [
      ...gpus('DCGM_FI_PROF_NVLINK_TX_BYTES', 'node-a', '4e10+1e8x40'), ...gpus('DCGM_FI_PROF_NVLINK_RX_BYTES', 'node-a', '3.5e10-1e8x40'),
      ...gpus('DCGM_FI_PROF_NVLINK_TX_BYTES', 'node-b', '1e10+0x40'), ...gpus('DCGM_FI_PROF_NVLINK_RX_BYTES', 'node-b', '1e10+0x40'),
    ];

    expect(evaluate(expr, series, '5m', [
      { labels: '{cluster="c1", Hostname="node-a"}', value: 8 * (4.2e10 + 3.3e10) },
      { labels: '{cluster="c1", Hostname="node-b"}', value: 8 * 2e10 },
    ])).toContain('SUCCESS');
  });

  test('an EFA query that combines the RDMA read and write error counters counts one without the other (promtool)', () => {
    const combined = DOCS.flatMap(([, doc]) => queriesOf(doc))
      .filter((e) => e.includes('node_amazonefa_rdma_read_wr_err') && e.includes('node_amazonefa_rdma_write_wr_err'));
    expect(combined.length).toBeGreaterThan(0);
    // Older Nitro versions publish no node_amazonefa_rdma_write_wr_err at all (see the EfaRdmaErrors rule). Over the hour
    // ($__range) to 1 h: 480 failed reads (2 every 15 s) on one device, 240 failed writes on another.
    const device = (counter: string, dev: string, values: string) =>
      ({ series: `node_amazonefa_${counter}{cluster="c1", Hostname="ip-10-1-0-3", device="${dev}", port="1"}`, values });
    const reads = device('rdma_read_wr_err', 'rdmap16s27', '0+2x300');
    const writes = device('rdma_write_wr_err', 'rdmap32s27', '0+1x300');
    for (const expr of combined) {
      const total = `sum(${expr})`;
      for (const [series, value] of [[[reads], 480], [[writes], 240], [[reads, writes], 720]] as Array<[InputSeries[], number]>) {
        expect({ expr, series: series.map((s) => s.series), out: evaluate(total, series, '1h', [{ labels: '{}', value }]) })
          .toEqual({ expr, series: series.map((s) => s.series), out: expect.stringContaining('SUCCESS') });
      }
    }
  });
});
