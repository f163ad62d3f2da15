/**
 * Times full layout searches: `npm run bench:planner`. Target: at most 100 ms each (the median; exits 1 above it).
 * Prints the median of several runs after one warm-up run (the first call pays for JIT compilation).
 */
import { performance } from 'node:perf_hooks';
import { findInstanceType } from '../lib/planner/instances';
import { Recomputation } from '../lib/planner/layout';
import { findModel } from '../lib/planner/models';
import { enumerateLayouts, searchLayouts, SearchInput } from '../lib/planner/search';
import { fabricForInstance } from '../lib/planner/throughput';

const RUNS = 21;
const LIMIT_MS = 100;
const p5 = fabricForInstance(findInstanceType('ml.p5.48xlarge'));

const cases: Array<[string, SearchInput]> = [
  ['Llama-3.1-405B, 1024 GPUs (8/node)', {
    model: findModel('llama-3.1-405b'), fabric: p5, totalGpus: 1024, sequenceLength: 8192, globalBatchSize: 2048,
  }],
  ['Llama-3.1-405B, 1024 GPUs (8/node), full recomputation', {
    model: findModel('llama-3.1-405b'), fabric: p5, totalGpus: 1024, sequenceLength: 8192, globalBatchSize: 2048,
    options: { recomputation: Recomputation.FULL },
  }],
  ['Llama-3.3-70B, 256 GPUs (8/node)', {
    model: findModel('llama-3.3-70b'), fabric: p5, totalGpus: 256, sequenceLength: 8192, globalBatchSize: 1024,
  }],
];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

for (const [name, input] of cases) {
  searchLayouts(input);
  const times: number[] = [];
  let fitting = 0;
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    fitting = searchLayouts(input).length;
    times.push(performance.now() - start);
  }
  const evaluated = enumerateLayouts(input).length;
  const best = searchLayouts(input)[0];
  const pick = best ? `; best TP${best.layout.tp} PP${best.layout.pp} CP${best.layout.cp} DP${best.layout.dp} `
    + `mbs${best.layout.mbs} vp${best.layout.vp} ${best.throughput.tflopsPerGpu.toFixed(1)} TFLOP/s/GPU` : '';
  console.log(`${name}: median ${median(times).toFixed(2)} ms over ${RUNS} runs `
    + `(min ${Math.min(...times).toFixed(2)}, max ${Math.max(...times).toFixed(2)}); `
    + `${evaluated} layouts evaluated, ${fitting} fit${pick}`);
  if (median(times) > LIMIT_MS) {
    console.error(`${name}: median above ${LIMIT_MS} ms`);
    process.exitCode = 1;
  }
}
