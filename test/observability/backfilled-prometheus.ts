import { ChildProcess, execFile, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/**
 * A real Prometheus (Debian's `prometheus`, provisioned by `npm test` from test/tools/debian-packages.txt) serving
 * OpenMetrics text backfilled with `promtool tsdb create-blocks-from openmetrics`: on loopback, on a port the kernel
 * picks, in a temporary directory that stop() removes. Prometheus, "Backfilling from OpenMetrics format":
 * https://prometheus.io/docs/prometheus/latest/storage/#backfilling-from-openmetrics-format (promtool's
 * cmd/promtool/backfill.go at v0.42.0, the Debian 2.42 package's).
 * A missing promtool or prometheus is an error, never a skip.
 */

export interface PromSeries { readonly metric: Record<string, string> }
export interface InstantSample extends PromSeries { readonly value: [number, string] }
export interface RangeSeries extends PromSeries { readonly values: Array<[number, string]> }

export interface BackfilledPrometheus {
  readonly url: string;
  instant(expr: string, timeSeconds: number): Promise<InstantSample[]>;
  range(expr: string, startSeconds: number, endSeconds: number, stepSeconds: number): Promise<RangeSeries[]>;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 15_000;

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')} failed: ${toolMissing(error, command) ?? `${stdout}${stderr}`}`));
      else resolve(`${stdout}${stderr}`);
    });
  });
}

function toolMissing(error: { code?: unknown; path?: string }, command?: string): string | undefined {
  return error.code === 'ENOENT' ? `${error.path ?? command} is not installed (Debian package prometheus, test/tools/debian-packages.txt)` : undefined;
}

/** Backfills `openMetrics` into a fresh TSDB and starts Prometheus on it. */
export async function startBackfilledPrometheus(openMetrics: string): Promise<BackfilledPrometheus> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'backfilled-prometheus-'));
  try {
    const input = path.join(dir, 'series.om');
    const tsdb = path.join(dir, 'tsdb');
    fs.writeFileSync(input, openMetrics);
    await run('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', input, tsdb]);
    fs.rmSync(input);
    const config = path.join(dir, 'prometheus.yml');
    fs.writeFileSync(config, 'global: {}\n'); // nothing to scrape: the data is all in the blocks
    const child = spawn('prometheus', [
      `--config.file=${config}`, `--storage.tsdb.path=${tsdb}`, '--web.listen-address=127.0.0.1:0',
      // Retention counts back from the newest block, so a fixed past time range stays; keep it all the same.
      '--storage.tsdb.retention.time=100y',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    const url = await ready(child);
    return serving(url, child, dir);
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** Resolves with the base URL once Prometheus logs the port it listens on and that it is ready. */
function ready(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let log: string | undefined = '';
    let port: string | undefined;
    const fail = (why: string) => {
      const seen = log ?? '';
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`prometheus did not start: ${why}\n${seen}`));
    };
    const timer = setTimeout(() => fail(`not ready after ${READY_TIMEOUT_MS} ms`), READY_TIMEOUT_MS);
    child.once('error', (e: NodeJS.ErrnoException) => fail(toolMissing(e, 'prometheus') ?? e.message));
    child.once('exit', (code) => fail(`exited with ${code}`));
    // Kept reading after the start (a full pipe would block Prometheus), kept only until then.
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      if (log === undefined) return;
      log += chunk;
      port ??= /msg="Listening on" address=127\.0\.0\.1:(\d+)/.exec(log)?.[1];
      if (port && log.includes('Server is ready to receive web requests.')) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        log = undefined;
        resolve(`http://127.0.0.1:${port}`);
      }
    });
  });
}

function serving(url: string, child: ChildProcess, dir: string): BackfilledPrometheus {
  const api = async <T>(endpoint: string, params: Record<string, string>): Promise<T> => {
    const response = await fetch(`${url}/api/v1/${endpoint}`, { method: 'POST', body: new URLSearchParams(params) });
    const body = await response.json() as { status: string; data?: { result: T }; error?: string };
    if (body.status !== 'success') throw new Error(`${endpoint} ${params.query}: ${body.error}`);
    return body.data!.result;
  };
  return {
    url,
    instant: (query, time) => api<InstantSample[]>('query', { query, time: String(time) }),
    range: (query, start, end, step) => api<RangeSeries[]>('query_range', { query, start: String(start), end: String(end), step: String(step) }),
    stop: () => new Promise<void>((resolve) => {
      const done = () => {
        fs.rmSync(dir, { recursive: true, force: true });
        resolve();
      };
      if (child.exitCode !== null || child.signalCode !== null) return done();
      child.once('exit', done);
      // Nothing in its TSDB needs keeping: no graceful shutdown to wait for.
      child.kill('SIGKILL');
    }),
  };
}
