import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { renderAlertRules } from '../../lib/observability/alert-rules';
import { HEALTHY, promtoolSuite } from './scenarios';
import { SCENARIOS } from './straggler-scenarios';

/** The scenarios of straggler-scenarios.ts, each a promtool test run against the rules rendered with the defaults. */

interface ToolRun { readonly code: number; readonly output: string }

function promtool(args: string[]): Promise<ToolRun> {
  return new Promise((resolve) => {
    execFile('promtool', args, { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

let dir: string;
let rules: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scenarios-'));
  rules = renderAlertRules();
  fs.writeFileSync(path.join(dir, 'training-alerts.yaml'), rules);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test.each(SCENARIOS.map((s) => [s.name, s] as const))('%s', async (name, scenario) => {
  const file = path.join(dir, `${SCENARIOS.indexOf(scenario)}.test.yaml`);
  fs.writeFileSync(file, promtoolSuite([scenario], rules));
  const result = await promtool(['test', 'rules', file]);
  expect({ name, code: result.code, output: result.code === 0 ? '' : result.output }).toEqual({ name, code: 0, output: '' });
}, 60_000);

test('the healthy signals are in the exporters\' units', () => {
  // %, MHz (H100 SXM boost), ratio of cycles, bytes/s per direction, packets/s.
  expect(HEALTHY).toEqual({ util: 97, clockMHz: 1980, tensor: 0.45, efaBytesPerSecond: 20e9, retransmitsPerSecond: 2 });
});
