// @ts-check
/**
 * Grafana provisioner: the `onEvent` handler of a CloudFormation custom resource (CDK Provider framework, so it
 * only returns or throws). It keeps one Amazon Managed Grafana workspace in step with the stack: a Prometheus
 * data source pointing at the AMP workspace, one folder, and the dashboards passed in.
 *
 * Plain CommonJS with no dependencies: shipped as-is with `Code.fromAsset(<this directory>)`, handler
 * `index.handler`, on a Lambda Node.js runtime (18 or later provide `@aws-sdk/client-grafana`; the construct picks the latest).
 *
 * ResourceProperties (CloudFormation passes them as strings / lists of strings):
 *   WorkspaceId       required  AMG workspace id, `g-` + 10 hex digits.
 *   GrafanaEndpoint   required  `https://{WorkspaceId}.grafana-workspace.{region}.amazonaws.com` (scheme optional).
 *   PrometheusUrl     required  AMP query endpoint, `https://aps-workspaces.{region}.amazonaws.com/workspaces/ws-…/`.
 *   PrometheusRegion  required  Region used to SigV4-sign the queries to AMP.
 *   Dashboards        required  List of dashboard JSON documents (strings). Each needs a unique `uid` and a `title`;
 *                               the string "${DS_PROMETHEUS}" anywhere in a document is replaced by DatasourceUid.
 *   DatasourceUid     optional  Default `hyperpod-amp`.
 *   DatasourceName    optional  Default `AMP (<DatasourceUid>)` (Grafana names are unique per organisation).
 *   FolderUid         optional  Default `hyperpod-training`.
 *   FolderTitle       optional  Default `HyperPod Training`.
 *   ServiceAccountId  optional  An existing workspace service account with the ADMIN role. Without it the handler
 *                               finds or creates the service account `cdk-hyperpod-provisioner` (ADMIN).
 *
 * Each invocation mints a service-account token that lives TOKEN_TTL_SECONDS, uses it, and deletes it.
 * Returns `{ PhysicalResourceId: '<WorkspaceId>/<FolderUid at creation>', Data: { DatasourceUid, FolderUid,
 * DashboardUids (comma-separated) } }`. The id stays the same across updates; only a new WorkspaceId replaces
 * the resource (CloudFormation then sends Delete, with the old properties, for the old workspace).
 *
 * IAM (workspace ARN `arn:<partition>:grafana:<region>:<account>:/workspaces/<WorkspaceId>`):
 *   grafana:CreateWorkspaceServiceAccountToken, grafana:DeleteWorkspaceServiceAccountToken, and unless
 *   ServiceAccountId is given, grafana:ListWorkspaceServiceAccounts and grafana:CreateWorkspaceServiceAccount.
 */
'use strict';

const SERVICE_ACCOUNT_NAME = 'cdk-hyperpod-provisioner';
// Provided by the Lambda Node.js runtimes (AWS SDK v3), not installed in this repository (hence required by a non-literal name).
const GRAFANA_SDK = '@aws-sdk/client-grafana';
// Long enough for a slow deployment with retries, short enough that a token left behind soon stops working.
const TOKEN_TTL_SECONDS = 600;
// Grafana's own convention for a dashboard's data source input; replaced by the provisioned data source uid.
const DATASOURCE_VARIABLE = '${DS_PROMETHEUS}';
const DEFAULTS = Object.freeze({
  datasourceUid: 'hyperpod-amp',
  folderUid: 'hyperpod-training',
  folderTitle: 'HyperPod Training',
  timeoutMs: 10_000,
  maxAttempts: 3,
  retryDelayMs: 1_000,
});
// Grafana's limits for uids: letters, digits, '-' and '_', at most 40 characters.
const UID_PATTERN = /^[A-Za-z0-9_-]{1,40}$/;
const WORKSPACE_ID_PATTERN = /^g-[0-9a-f]{10}$/;
// Statuses worth another attempt: throttling and a gateway that is not ready (new workspaces need a moment).
const RETRYABLE_STATUSES = new Set([429, 502, 503, 504]);
// Import-only keys of exported dashboards, and the per-instance id/version that Grafana assigns itself.
const IMPORT_ONLY_KEYS = ['__inputs', '__requires', '__elements', 'id', 'version'];

/**
 * @typedef {{ id?: string, name?: string, grafanaRole?: string, isDisabled?: string }} ServiceAccountSummary
 * @typedef {{ abortSignal?: AbortSignal }} CallOptions
 * The subset of `Grafana` (the aggregated client of @aws-sdk/client-grafana) this handler calls.
 * @typedef {{
 *   listWorkspaceServiceAccounts(input: { workspaceId: string, nextToken?: string, maxResults?: number },
 *     options?: CallOptions): Promise<{ serviceAccounts?: ServiceAccountSummary[], nextToken?: string }>,
 *   createWorkspaceServiceAccount(input: { workspaceId: string, name: string, grafanaRole: string },
 *     options?: CallOptions): Promise<{ id?: string }>,
 *   createWorkspaceServiceAccountToken(input: { workspaceId: string, serviceAccountId: string, name: string,
 *     secondsToLive: number }, options?: CallOptions):
 *     Promise<{ serviceAccountToken?: { id?: string, key?: string, name?: string } }>,
 *   deleteWorkspaceServiceAccountToken(input: { workspaceId: string, serviceAccountId: string, tokenId: string },
 *     options?: CallOptions): Promise<unknown>,
 * }} AmgClient
 * @typedef {(message: string, fields?: Record<string, unknown>) => void} Logger
 * @typedef {{ grafanaClient?: AmgClient, fetch?: typeof fetch, timeoutMs?: number, maxAttempts?: number,
 *   retryDelayMs?: number, log?: Logger }} Deps
 * @typedef {{ grafanaClient: AmgClient, fetch: typeof fetch, timeoutMs: number, maxAttempts: number,
 *   retryDelayMs: number, log: Logger }} ResolvedDeps
 * @typedef {{ uid: string, title: string, dashboard: Record<string, unknown> }} Dashboard
 * @typedef {{ workspaceId: string, grafanaEndpoint: string, prometheusUrl: string, prometheusRegion: string,
 *   datasourceUid: string, datasourceName: string, folderUid: string, folderTitle: string,
 *   serviceAccountId: string | undefined, dashboards: Dashboard[] }} Props
 * @typedef {{ status: number, json: any }} ApiResponse
 * @typedef {(method: string, path: string, body?: unknown, allowed?: number[]) => Promise<ApiResponse>} Api
 * @typedef {{ RequestType: 'Create' | 'Update' | 'Delete', PhysicalResourceId?: string,
 *   ResourceProperties?: Record<string, unknown>, OldResourceProperties?: Record<string, unknown> }} CfnEvent
 * @typedef {{ PhysicalResourceId: string, Data?: Record<string, string> }} CfnResult
 */

/** A non-2xx answer from the Grafana HTTP API; the message carries the status and the response body. */
class GrafanaApiError extends Error {
  /** @param {string} method @param {string} path @param {number} status @param {string} body */
  constructor(method, path, status, body) {
    super(`Grafana API ${method} ${path} returned HTTP ${status}: ${body.slice(0, 2000)}`);
    this.name = 'GrafanaApiError';
    this.status = status;
    this.body = body;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Properties

/** @param {Record<string, unknown>} raw @param {string} name @returns {string} */
function requiredString(raw, name) {
  const value = raw[name];
  if (typeof value !== 'string' || value.trim() === '') {
    throw new Error(`ResourceProperties.${name} is required, got ${JSON.stringify(value)}`);
  }
  return value.trim();
}

/** @param {Record<string, unknown>} raw @param {string} name @param {string} fallback @returns {string} */
function optionalString(raw, name, fallback) {
  const value = raw[name];
  if (value === undefined || value === '') return fallback;
  if (typeof value !== 'string') throw new Error(`ResourceProperties.${name} must be a string, got ${typeof value}`);
  return value.trim();
}

/** @param {string} name @param {string} value @returns {string} */
function checkUid(name, value) {
  if (!UID_PATTERN.test(value)) {
    throw new Error(`ResourceProperties.${name} must match ${UID_PATTERN}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** @param {string} name @param {string} value @returns {string} the URL without trailing slashes */
function checkUrl(name, value) {
  const withScheme = /^https?:\/\//.test(value) ? value : `https://${value}`;
  try {
    new URL(withScheme);
  } catch {
    throw new Error(`ResourceProperties.${name} must be a URL, got ${JSON.stringify(value)}`);
  }
  return withScheme.replace(/\/+$/, '');
}

/**
 * Replaces every string equal to "${DS_PROMETHEUS}" (the data source input of exported dashboards) by `uid`.
 * @param {unknown} value @param {string} uid @returns {any}
 */
function substituteDatasource(value, uid) {
  if (value === DATASOURCE_VARIABLE) return uid;
  if (Array.isArray(value)) return value.map((item) => substituteDatasource(item, uid));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteDatasource(v, uid)]));
  }
  return value;
}

/**
 * Parses one dashboard document and makes it ready for `POST /api/dashboards/db`.
 * @param {unknown} text @param {number} index @param {string} datasourceUid @returns {Dashboard}
 */
function prepareDashboard(text, index, datasourceUid) {
  const where = `ResourceProperties.Dashboards[${index}]`;
  if (typeof text !== 'string') throw new Error(`${where} must be a JSON string, got ${typeof text}`);
  let doc;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`${where} is not valid JSON: ${/** @type {Error} */ (err).message}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`${where} must be a JSON object`);
  if (typeof doc.uid !== 'string' || !UID_PATTERN.test(doc.uid)) {
    throw new Error(`${where} needs a "uid" matching ${UID_PATTERN}, got ${JSON.stringify(doc.uid)}`);
  }
  if (typeof doc.title !== 'string' || doc.title.trim() === '') throw new Error(`${where} needs a "title"`);
  const dashboard = substituteDatasource(doc, datasourceUid);
  for (const key of IMPORT_ONLY_KEYS) delete dashboard[key];
  return { uid: doc.uid, title: doc.title, dashboard };
}

/** @param {unknown} list @param {string} datasourceUid @returns {Dashboard[]} */
function parseDashboards(list, datasourceUid) {
  if (!Array.isArray(list)) throw new Error(`ResourceProperties.Dashboards must be a list of JSON strings`);
  const dashboards = list.map((text, i) => prepareDashboard(text, i, datasourceUid));
  const seen = new Set();
  for (const { uid } of dashboards) {
    if (seen.has(uid)) throw new Error(`ResourceProperties.Dashboards has the uid "${uid}" more than once`);
    seen.add(uid);
  }
  return dashboards;
}

/**
 * Validates and normalises ResourceProperties; throws naming the first bad field.
 * @param {Record<string, unknown> | undefined} raw @returns {Props}
 */
function parseProperties(raw) {
  const p = raw ?? {};
  const workspaceId = requiredString(p, 'WorkspaceId');
  if (!WORKSPACE_ID_PATTERN.test(workspaceId)) {
    throw new Error(`ResourceProperties.WorkspaceId must match ${WORKSPACE_ID_PATTERN}, got "${workspaceId}"`);
  }
  const datasourceUid = checkUid('DatasourceUid', optionalString(p, 'DatasourceUid', DEFAULTS.datasourceUid));
  return {
    workspaceId,
    grafanaEndpoint: checkUrl('GrafanaEndpoint', requiredString(p, 'GrafanaEndpoint')),
    prometheusUrl: checkUrl('PrometheusUrl', requiredString(p, 'PrometheusUrl')),
    prometheusRegion: requiredString(p, 'PrometheusRegion'),
    datasourceUid,
    datasourceName: optionalString(p, 'DatasourceName', `AMP (${datasourceUid})`),
    folderUid: checkUid('FolderUid', optionalString(p, 'FolderUid', DEFAULTS.folderUid)),
    folderTitle: optionalString(p, 'FolderTitle', DEFAULTS.folderTitle),
    serviceAccountId: optionalString(p, 'ServiceAccountId', '') || undefined,
    dashboards: parseDashboards(p.Dashboards, datasourceUid),
  };
}

/**
 * What an earlier deployment owns, read leniently: a document that no longer parses (say, from a Create that
 * failed) must not make the cleanup fail.
 * @param {Record<string, unknown> | undefined} raw
 * @returns {{ datasourceUid: string, folderUid: string, dashboardUids: string[] }}
 */
function ownedResources(raw) {
  const p = raw ?? {};
  const list = Array.isArray(p.Dashboards) ? p.Dashboards : [];
  const dashboardUids = [];
  for (const text of list) {
    try {
      const uid = JSON.parse(String(text)).uid;
      if (typeof uid === 'string' && UID_PATTERN.test(uid)) dashboardUids.push(uid);
    } catch {
      // Never deployed, so nothing to remove.
    }
  }
  /** @param {unknown} v @param {string} fallback */
  const uidOr = (v, fallback) => (typeof v === 'string' && v.trim() ? v.trim() : fallback);
  return {
    datasourceUid: uidOr(p.DatasourceUid, DEFAULTS.datasourceUid),
    folderUid: uidOr(p.FolderUid, DEFAULTS.folderUid),
    dashboardUids,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Amazon Managed Grafana: service account and short-lived token

/** @param {number} ms @returns {CallOptions} */
function callOptions(ms) {
  return { abortSignal: AbortSignal.timeout(ms) };
}

/** @param {AmgClient} client @param {string} workspaceId @param {number} timeoutMs */
async function findServiceAccount(client, workspaceId, timeoutMs) {
  let nextToken;
  do {
    const page = await client.listWorkspaceServiceAccounts({ workspaceId, nextToken }, callOptions(timeoutMs));
    const match = (page.serviceAccounts ?? []).find((sa) => sa.name === SERVICE_ACCOUNT_NAME);
    if (match) return match;
    nextToken = page.nextToken;
  } while (nextToken);
  return undefined;
}

/** @param {ServiceAccountSummary} sa @returns {string} */
function usableServiceAccountId(sa) {
  if (sa.grafanaRole !== 'ADMIN' || String(sa.isDisabled) === 'true' || !sa.id) {
    throw new Error(`Service account "${SERVICE_ACCOUNT_NAME}" exists but is not an enabled ADMIN ` +
      `(role ${sa.grafanaRole}, disabled ${sa.isDisabled}); fix or delete it in the workspace`);
  }
  return sa.id;
}

/**
 * Finds the provisioner's service account or creates it; a concurrent creation (ConflictException) is resolved by
 * looking it up again.
 * @param {AmgClient} client @param {string} workspaceId @param {number} timeoutMs @returns {Promise<string>}
 */
async function ensureServiceAccount(client, workspaceId, timeoutMs) {
  const existing = await findServiceAccount(client, workspaceId, timeoutMs);
  if (existing) return usableServiceAccountId(existing);
  try {
    const created = await client.createWorkspaceServiceAccount(
      { workspaceId, name: SERVICE_ACCOUNT_NAME, grafanaRole: 'ADMIN' }, callOptions(timeoutMs));
    if (!created.id) throw new Error('CreateWorkspaceServiceAccount returned no id');
    return created.id;
  } catch (err) {
    if (/** @type {Error} */ (err).name !== 'ConflictException') throw err;
    const raced = await findServiceAccount(client, workspaceId, timeoutMs);
    if (!raced) throw err;
    return usableServiceAccountId(raced);
  }
}

/**
 * Runs `work` with a fresh service-account token and deletes the token afterwards, whatever happened.
 * @template T
 * @param {Props} props @param {ResolvedDeps} deps @param {(token: string) => Promise<T>} work @returns {Promise<T>}
 */
async function withToken(props, deps, work) {
  const client = deps.grafanaClient;
  const { workspaceId } = props;
  const serviceAccountId = props.serviceAccountId ?? await ensureServiceAccount(client, workspaceId, deps.timeoutMs);
  const name = `${SERVICE_ACCOUNT_NAME}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const created = await client.createWorkspaceServiceAccountToken(
    { workspaceId, serviceAccountId, name, secondsToLive: TOKEN_TTL_SECONDS }, callOptions(deps.timeoutMs));
  const token = created.serviceAccountToken;
  if (!token?.id || !token.key) throw new Error('CreateWorkspaceServiceAccountToken returned no token');
  deps.log('token created', { serviceAccountId, tokenId: token.id, secondsToLive: TOKEN_TTL_SECONDS });
  try {
    return await work(token.key);
  } finally {
    await deleteToken(client, { workspaceId, serviceAccountId, tokenId: token.id }, deps);
  }
}

/**
 * A failed deletion is logged, not thrown: it must not hide the real error, and a token that escapes expires
 * within TOKEN_TTL_SECONDS anyway, which does not justify rolling back a deployment that worked.
 * @param {AmgClient} client @param {{ workspaceId: string, serviceAccountId: string, tokenId: string }} ids
 * @param {ResolvedDeps} deps
 */
async function deleteToken(client, ids, deps) {
  try {
    await client.deleteWorkspaceServiceAccountToken(ids, callOptions(deps.timeoutMs));
    deps.log('token deleted', { tokenId: ids.tokenId });
  } catch (err) {
    deps.log('token deletion failed; it expires on its own', { tokenId: ids.tokenId, error: String(err) });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Grafana HTTP API

/** @param {number} ms */
function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** @param {unknown} err @param {number} timeoutMs @returns {string} */
function describeFetchError(err, timeoutMs) {
  const e = /** @type {Error & { cause?: unknown }} */ (err);
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return `timed out after ${timeoutMs} ms`;
  return e.cause ? `${e.message} (${String(e.cause)})` : String(e.message ?? err);
}

/** @param {string} text @returns {any} */
function parseJson(text) {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

/**
 * One HTTP exchange; undefined means "worth another attempt" (network error, timeout or retryable status).
 * @param {ResolvedDeps} deps @param {string} url @param {RequestInit & { method: string }} init
 * @param {string} path @param {boolean} lastAttempt @returns {Promise<{ status: number, text: string } | undefined>}
 */
async function exchange(deps, url, init, path, lastAttempt) {
  try {
    const res = await deps.fetch(url, { ...init, signal: AbortSignal.timeout(deps.timeoutMs) });
    const text = await res.text();
    if (RETRYABLE_STATUSES.has(res.status) && !lastAttempt) return undefined;
    return { status: res.status, text };
  } catch (err) {
    if (!lastAttempt) return undefined;
    throw new Error(`Grafana API ${init.method} ${path} failed: ${describeFetchError(err, deps.timeoutMs)}`);
  }
}

/**
 * A client for the workspace's Grafana HTTP API. Each attempt is bounded by `timeoutMs`; statuses outside 2xx
 * and `allowed` throw a GrafanaApiError.
 * @param {string} baseUrl @param {string} token @param {ResolvedDeps} deps @returns {Api}
 */
function grafanaApi(baseUrl, token, deps) {
  const headers = { Authorization: `Bearer ${token}`, Accept: 'application/json', 'Content-Type': 'application/json' };
  return async (method, path, body, allowed = []) => {
    const init = { method, headers, body: body === undefined ? undefined : JSON.stringify(body) };
    for (let attempt = 1; ; attempt++) {
      const result = await exchange(deps, baseUrl + path, init, path, attempt >= deps.maxAttempts);
      if (!result) {
        await sleep(deps.retryDelayMs * 2 ** (attempt - 1));
        continue;
      }
      const ok = result.status >= 200 && result.status < 300;
      if (!ok && !allowed.includes(result.status)) throw new GrafanaApiError(method, path, result.status, result.text);
      return { status: result.status, json: parseJson(result.text) };
    }
  };
}

/** JSON with object keys sorted, so that equal documents compare equal. @param {unknown} value */
function canonical(value) {
  return JSON.stringify(value, (_key, v) => (v && typeof v === 'object' && !Array.isArray(v)
    ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]))
    : v));
}

/** @param {Props} props */
function datasourceBody(props) {
  return {
    uid: props.datasourceUid,
    name: props.datasourceName,
    type: 'prometheus',
    access: 'proxy',
    url: props.prometheusUrl,
    jsonData: {
      httpMethod: 'POST',
      sigV4Auth: true,
      // Stored value of the auth provider AMG labels "Workspace IAM role" (grafana-aws-sdk AuthTypeEC2IAMRole).
      sigV4AuthType: 'ec2_iam_role',
      sigV4Region: props.prometheusRegion,
      // The collectors scrape every 15 s; a shorter step only draws gaps.
      timeInterval: '15s',
    },
  };
}

/** Creates the data source, or updates it when it differs. @param {Api} api @param {Props} props */
async function ensureDatasource(api, props) {
  const path = `/api/datasources/uid/${encodeURIComponent(props.datasourceUid)}`;
  const desired = datasourceBody(props);
  const current = await api('GET', path, undefined, [404]);
  if (current.status === 404) {
    const created = await api('POST', '/api/datasources', desired, [409]);
    if (created.status !== 409) return 'created';
    // 409: created meanwhile (a retried POST, or a concurrent run); fall through to an update.
  } else if (sameDatasource(current.json, desired)) {
    return 'unchanged';
  }
  await api('PUT', path, desired);
  return 'updated';
}

/** @param {any} current @param {ReturnType<typeof datasourceBody>} desired */
function sameDatasource(current, desired) {
  return current?.name === desired.name && current?.type === desired.type && current?.access === desired.access
    && current?.url === desired.url && canonical(current?.jsonData ?? {}) === canonical(desired.jsonData);
}

/** @param {Api} api @param {Props} props */
async function ensureFolder(api, props) {
  const path = `/api/folders/${encodeURIComponent(props.folderUid)}`;
  const current = await api('GET', path, undefined, [404]);
  if (current.status === 404) {
    const created = await api('POST', '/api/folders', { uid: props.folderUid, title: props.folderTitle }, [409]);
    if (created.status !== 409) return 'created';
  } else if (current.json?.title === props.folderTitle) {
    return 'unchanged';
  }
  await api('PUT', path, { title: props.folderTitle, overwrite: true });
  return 'updated';
}

/**
 * Saves the dashboard unless Grafana already holds the same content in the same folder, so that a no-op deploy
 * leaves versions (and the dashboard history) alone.
 * @param {Api} api @param {Props} props @param {Dashboard} d
 */
async function upsertDashboard(api, props, d) {
  const current = await api('GET', `/api/dashboards/uid/${encodeURIComponent(d.uid)}`, undefined, [404]);
  if (current.status === 200 && current.json?.meta?.folderUid === props.folderUid) {
    const { id, version, ...stored } = current.json.dashboard ?? {};
    if (canonical(stored) === canonical(d.dashboard)) return 'unchanged';
  }
  await api('POST', '/api/dashboards/db', {
    dashboard: { ...d.dashboard, id: null },
    folderUid: props.folderUid,
    overwrite: true,
    message: 'Deployed by cdk-hyperpod-training',
  });
  return current.status === 404 ? 'created' : 'updated';
}

/** @param {Api} api @param {string} uid */
async function deleteDashboard(api, uid) {
  const res = await api('DELETE', `/api/dashboards/uid/${encodeURIComponent(uid)}`, undefined, [404]);
  return res.status === 404 ? 'absent' : 'deleted';
}

/** @param {Api} api @param {string} uid */
async function deleteDatasource(api, uid) {
  const res = await api('DELETE', `/api/datasources/uid/${encodeURIComponent(uid)}`, undefined, [404]);
  return res.status === 404 ? 'absent' : 'deleted';
}

/**
 * Deleting a folder deletes what is in it, so the folder goes only when no dashboard is left in it.
 * `folderUIDs` narrows the search on Grafana 10+; older versions ignore it, hence the filter on the hits.
 * @param {Api} api @param {string} uid
 */
async function deleteFolderIfEmpty(api, uid) {
  const q = `/api/search?type=dash-db&limit=5000&folderUIDs=${encodeURIComponent(uid)}`;
  const hits = (await api('GET', q)).json ?? [];
  if (hits.some((/** @type {any} */ hit) => hit.folderUid === uid)) return 'kept (not empty)';
  const res = await api('DELETE', `/api/folders/${encodeURIComponent(uid)}`, undefined, [404]);
  return res.status === 404 ? 'absent' : 'deleted';
}

// ---------------------------------------------------------------------------------------------------------------
// Lifecycle

/**
 * Brings the workspace to `props`; with `previous`, also removes what the previous deployment owned and the new
 * one does not (dashboards dropped from the list, a renamed data source or folder).
 * @param {Api} api @param {Props} props @param {ResolvedDeps} deps
 * @param {ReturnType<typeof ownedResources>} [previous]
 */
async function apply(api, props, deps, previous) {
  deps.log('datasource', { uid: props.datasourceUid, result: await ensureDatasource(api, props) });
  deps.log('folder', { uid: props.folderUid, result: await ensureFolder(api, props) });
  for (const d of props.dashboards) {
    deps.log('dashboard', { uid: d.uid, result: await upsertDashboard(api, props, d) });
  }
  if (!previous) return;
  const keep = new Set(props.dashboards.map((d) => d.uid));
  for (const uid of previous.dashboardUids.filter((u) => !keep.has(u))) {
    deps.log('dashboard removed', { uid, result: await deleteDashboard(api, uid) });
  }
  if (previous.datasourceUid !== props.datasourceUid) {
    const result = await deleteDatasource(api, previous.datasourceUid);
    deps.log('old datasource', { uid: previous.datasourceUid, result });
  }
  if (previous.folderUid !== props.folderUid) {
    deps.log('old folder', { uid: previous.folderUid, result: await deleteFolderIfEmpty(api, previous.folderUid) });
  }
}

/** @param {Api} api @param {ReturnType<typeof ownedResources>} owned @param {ResolvedDeps} deps */
async function remove(api, owned, deps) {
  for (const uid of owned.dashboardUids) {
    deps.log('dashboard', { uid, result: await deleteDashboard(api, uid) });
  }
  deps.log('datasource', { uid: owned.datasourceUid, result: await deleteDatasource(api, owned.datasourceUid) });
  deps.log('folder', { uid: owned.folderUid, result: await deleteFolderIfEmpty(api, owned.folderUid) });
}

/** @param {Props} props @returns {Record<string, string>} */
function resultData(props) {
  return {
    DatasourceUid: props.datasourceUid,
    FolderUid: props.folderUid,
    DashboardUids: props.dashboards.map((d) => d.uid).join(','),
  };
}

/** @param {CfnEvent} event @param {ResolvedDeps} deps @returns {Promise<CfnResult>} */
async function onCreateOrUpdate(event, deps) {
  const props = parseProperties(event.ResourceProperties);
  const old = event.RequestType === 'Update' ? event.OldResourceProperties : undefined;
  // Same workspace: an in-place update. Another workspace: a replacement, whose old copy CloudFormation deletes.
  const inPlace = old !== undefined && old.WorkspaceId === props.workspaceId && !!event.PhysicalResourceId;
  const previous = inPlace ? ownedResources(old) : undefined;
  await withToken(props, deps, (token) => apply(grafanaApi(props.grafanaEndpoint, token, deps), props, deps, previous));
  const PhysicalResourceId = inPlace && event.PhysicalResourceId
    ? event.PhysicalResourceId
    : `${props.workspaceId}/${props.folderUid}`;
  return { PhysicalResourceId, Data: resultData(props) };
}

/** @param {CfnEvent} event @param {ResolvedDeps} deps @returns {Promise<CfnResult>} */
async function onDelete(event, deps) {
  const PhysicalResourceId = event.PhysicalResourceId ?? '';
  let props;
  try {
    props = parseProperties(event.ResourceProperties);
  } catch (err) {
    // Properties that never validated never created anything; failing here would block the stack's deletion.
    deps.log('delete skipped: properties never valid', { error: String(err) });
    return { PhysicalResourceId };
  }
  const owned = ownedResources(event.ResourceProperties);
  try {
    await withToken(props, deps, (token) => remove(grafanaApi(props.grafanaEndpoint, token, deps), owned, deps));
  } catch (err) {
    // The workspace (or its service account) is gone, and with it everything this resource created.
    if (/** @type {Error} */ (err).name !== 'ResourceNotFoundException') throw err;
    deps.log('delete skipped: workspace not found', { error: String(err) });
  }
  return { PhysicalResourceId };
}

/** @param {string} endpoint @returns {string | undefined} */
function regionFromEndpoint(endpoint) {
  return /\.grafana-workspace\.([a-z0-9-]+)\.amazonaws\.com/.exec(endpoint)?.[1] ?? process.env.AWS_REGION;
}

/** @param {string | undefined} region @param {number} timeoutMs @returns {AmgClient} */
function createGrafanaClient(region, timeoutMs) {
  // Required here, not at the top, so that tests can inject a fake client without the SDK installed.
  const { Grafana } = require(GRAFANA_SDK);
  return new Grafana({
    region,
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 5_000, requestTimeout: timeoutMs, throwOnRequestTimeout: true },
  });
}

/** @param {CfnEvent} event @param {Deps} deps @returns {ResolvedDeps} */
function resolveDeps(event, deps) {
  const timeoutMs = deps.timeoutMs ?? DEFAULTS.timeoutMs;
  const endpoint = String(event.ResourceProperties?.GrafanaEndpoint ?? '');
  return {
    grafanaClient: deps.grafanaClient ?? createGrafanaClient(regionFromEndpoint(endpoint), timeoutMs),
    fetch: deps.fetch ?? globalThis.fetch,
    timeoutMs,
    maxAttempts: deps.maxAttempts ?? DEFAULTS.maxAttempts,
    retryDelayMs: deps.retryDelayMs ?? DEFAULTS.retryDelayMs,
    log: deps.log ?? ((message, fields) => console.log(JSON.stringify({ message, ...fields }))),
  };
}

/**
 * Handles one custom-resource event with injectable dependencies (the Lambda entry point is `handler`).
 * @param {CfnEvent} event @param {Deps} [deps] @returns {Promise<CfnResult>}
 */
async function handleEvent(event, deps = {}) {
  const resolved = resolveDeps(event, deps);
  resolved.log('event', { requestType: event.RequestType, physicalResourceId: event.PhysicalResourceId });
  switch (event.RequestType) {
    case 'Create':
    case 'Update':
      return onCreateOrUpdate(event, resolved);
    case 'Delete':
      return onDelete(event, resolved);
    default:
      throw new Error(`Unknown RequestType ${JSON.stringify(/** @type {any} */ (event).RequestType)}`);
  }
}

/** Lambda entry point. @param {CfnEvent} event @returns {Promise<CfnResult>} */
async function handler(event) {
  return handleEvent(event);
}

module.exports = {
  handler,
  handleEvent,
  parseProperties,
  prepareDashboard,
  regionFromEndpoint,
  GrafanaApiError,
  SERVICE_ACCOUNT_NAME,
  TOKEN_TTL_SECONDS,
  DATASOURCE_VARIABLE,
  DEFAULTS,
};
