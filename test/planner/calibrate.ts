/**
 * Refits the throughput model's constants on the Llama-3.1-8B grid at sequence 8192 and prints them with the
 * resulting rank correlation and error. Run: `npx tsx test/planner/calibrate.ts`. Paste the printed constants into
 * FITTED_THROUGHPUT_CONSTANTS (lib/planner/throughput.ts) and the numbers into docs/planner.md.
 */
import { FITTED_THROUGHPUT_CONSTANTS, ThroughputConstants } from '../../lib/planner/throughput';
import { GridCell, predictCell, readGrid } from './fixtures';
import { mape, spearman } from './metrics';

type Key = keyof ThroughputConstants;

/** Physical bounds of each constant; the fit searches inside them. */
const BOUNDS: Record<Key, [number, number]> = {
  ampereEfficiency: [0.3, 0.98],
  hopperEfficiency: [0.3, 0.98],
  fp8Efficiency: [0.3, 0.98],
  ampereAttentionEfficiency: [0.5, 0.73], // FlashAttention-2: 50–73% of A100 peak (Dao 2023, arXiv 2307.08691)
  // Fixed, not fitted: FlashAttention-2 on H100, up to 335 of 989 TFLOP/s forward + backward (ibid., §4.1). The
  // grid is one sequence length, where GEMM and attention shares cannot be told apart.
  hopperAttentionEfficiency: [0.339, 0.339],
  tpLatencySeconds: [0, 300e-6],
  tpBandwidthFactor: [0.3, 3],
  ampereCpAttentionOverhead: [0, 1],
  hopperCpAttentionOverhead: [0, 1],
  p2pLatencySeconds: [10e-6, 500e-6],
  dpBandwidthFactor: [0.1, 2],
  dpOverlap: [0, 1],
};
/**
 * The constants fitted on the BF16 grid; fp8Efficiency is fitted alone on the FP8 rows (see fitFp8), and those with
 * one-point bounds are fixed from their source.
 */
export const GRID_KEYS = (Object.keys(BOUNDS) as Key[])
  .filter((k) => k !== 'fp8Efficiency' && BOUNDS[k][0] !== BOUNDS[k][1]);

function toConstants(unit: readonly number[], keys: readonly Key[], base: ThroughputConstants): ThroughputConstants {
  const entries = keys.map((key, i) => {
    const [lo, hi] = BOUNDS[key];
    return [key, lo + Math.min(1, Math.max(0, unit[i])) * (hi - lo)];
  });
  return { ...base, ...Object.fromEntries(entries) } as ThroughputConstants;
}

function toUnit(constants: ThroughputConstants, keys: readonly Key[]): number[] {
  return keys.map((key) => {
    const [lo, hi] = BOUNDS[key];
    return hi === lo ? 0 : (constants[key] - lo) / (hi - lo);
  });
}

/** Mean squared log error: over- and under-prediction by the same factor cost the same. */
export function loss(cells: readonly GridCell[], constants: ThroughputConstants): number {
  return cells.reduce((s, c) => s + Math.log(predictCell(c, constants) / c.tflops) ** 2, 0) / cells.length;
}

interface Point { x: number[]; fx: number }

/** Nelder–Mead in the unit cube (points are clamped to the bounds by toConstants). */
function nelderMead(f: (x: number[]) => number, start: number[], step: number, iterations: number): number[] {
  const point = (x: number[]): Point => ({ x, fx: f(x) });
  let simplex = [start, ...start.map((_, i) => start.map((v, j) => (i === j ? v + step : v)))].map(point);
  const n = start.length;
  for (let it = 0; it < iterations; it++) {
    simplex.sort((a, b) => a.fx - b.fx);
    const [best, worst] = [simplex[0], simplex[n]];
    const centroid = start.map((_, j) => simplex.slice(0, n).reduce((s, p) => s + p.x[j], 0) / n);
    const along = (t: number) => point(centroid.map((c, j) => c + t * (worst.x[j] - c)));
    const reflected = along(-1);
    if (reflected.fx < best.fx) {
      const expanded = along(-2);
      simplex[n] = expanded.fx < reflected.fx ? expanded : reflected;
    } else if (reflected.fx < simplex[n - 1].fx) {
      simplex[n] = reflected;
    } else {
      const contracted = along(0.5);
      if (contracted.fx < worst.fx) simplex[n] = contracted;
      else simplex = [best, ...simplex.slice(1).map((p) => point(p.x.map((v, j) => (v + best.x[j]) / 2)))];
    }
  }
  return simplex.sort((a, b) => a.fx - b.fx)[0].x;
}

/** Fits the constants, restarting Nelder–Mead from its own result until the loss stops improving. */
export function calibrate(cells: readonly GridCell[],
  start: ThroughputConstants = FITTED_THROUGHPUT_CONSTANTS): ThroughputConstants {
  return fit((k) => loss(cells, k), start, GRID_KEYS);
}

/** Minimises `objective` over `keys` of the constants (the others held at `start`). */
export function fit(lossOf: (k: ThroughputConstants) => number, start: ThroughputConstants,
  keys: readonly Key[]): ThroughputConstants {
  const objective = (unit: number[]) => lossOf(toConstants(unit, keys, start));
  let best = toUnit(start, keys);
  let bestLoss = objective(best);
  for (let round = 0; round < 20; round++) {
    const next = nelderMead(objective, best, 0.1, 1500);
    const nextLoss = objective(next);
    if (nextLoss > bestLoss - 1e-9) break;
    best = next;
    bestLoss = nextLoss;
  }
  return toConstants(best, keys, start);
}

/** Spearman and MAPE per GPU type. */
export function report(cells: readonly GridCell[], constants?: ThroughputConstants):
Array<{ gpu: string; cells: number; spearman: number; mape: number }> {
  return [...new Set(cells.map((c) => c.gpu))].map((gpu) => {
    const mine = cells.filter((c) => c.gpu === gpu);
    const predicted = mine.map((c) => predictCell(c, constants));
    const measured = mine.map((c) => c.tflops);
    return { gpu, cells: mine.length, spearman: spearman(predicted, measured), mape: mape(predicted, measured) };
  });
}

if (require.main === module) {
  const cells = readGrid('llama31-8b-4d-grid.csv').filter((c) => c.status === 'ran');
  const fitted = calibrate(cells);
  console.log(fitted);
  console.log('loss', loss(cells, fitted), 'shipped loss', loss(cells, FITTED_THROUGHPUT_CONSTANTS));
  console.table(report(cells, fitted));
}
