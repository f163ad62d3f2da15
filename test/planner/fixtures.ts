import { readFileSync } from 'fs';
import { join } from 'path';
import { GpuType } from '../../lib/catalog/gpus';
import { findGpu } from '../../lib/planner/gpus';
import { findModel } from '../../lib/planner/models';
import { ClusterFabric, estimateThroughput, ThroughputConstants } from '../../lib/planner/throughput';

const DIR = join(__dirname, '..', 'fixtures', 'planner');

/** Rows of a CSV file as objects keyed by the header (double-quoted fields may hold commas). */
export function readCsv(name: string): Array<Record<string, string>> {
  const [header, ...rows] = readFileSync(join(DIR, name), 'utf8').trim().split(/\r?\n/).map(splitCsvLine);
  return rows.map((cells) => Object.fromEntries(header.map((key, i) => [key, cells[i] ?? ''])));
}

function splitCsvLine(line: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (const ch of line) {
    if (ch === '"') quoted = !quoted;
    else if (ch === ',' && !quoted) { cells.push(cell); cell = ''; } else cell += ch;
  }
  cells.push(cell);
  return cells;
}

/** One cell of the Llama-3.1-8B grid. */
export interface GridCell {
  readonly gpu: string;
  readonly sequenceLength: number;
  readonly tp: number;
  readonly cp: number;
  readonly pp: number;
  readonly dp: number;
  readonly mbs: number;
  readonly gpus: number;
  readonly status: string;
  /** Measured TFLOP/s per GPU (NaN unless status is `ran`). */
  readonly tflops: number;
}

export function readGrid(name: string): GridCell[] {
  return readCsv(name).map((r) => ({
    gpu: r.gpu,
    sequenceLength: Number(r.seq_len),
    tp: Number(r.TP), cp: Number(r.CP), pp: Number(r.PP), dp: Number(r.DP),
    mbs: Number(r.MBS),
    gpus: Number(r.num_gpus),
    status: r.status,
    tflops: r.status === 'ran' ? Number(r.tflops_per_gpu) : NaN,
  }));
}

/**
 * The machines the grid was measured on: ABCI A-nodes (8× A100 40GB, 4× InfiniBand HDR200 = 800 Gbit/s) and
 * TSUBAME 4.0 nodes (4× H100 94GB, 4× NDR200 = 800 Gbit/s).
 */
export const GRID_FABRICS: Record<string, ClusterFabric> = {
  'A100 40GB': { gpu: findGpu(GpuType.A100_40GB), gpusPerNode: 8, networkGbpsPerGpu: 100 },
  'H100 94GB': { gpu: findGpu(GpuType.H100_94GB), gpusPerNode: 4, networkGbpsPerGpu: 200 },
};

/** The grid's global batch: the author's Llama-3.1-8B scripts use 1024. */
export const GRID_GLOBAL_BATCH = 1024;

/** Predicted TFLOP/s per GPU for a grid cell. */
export function predictCell(cell: GridCell, constants?: ThroughputConstants): number {
  return estimateThroughput({
    model: findModel('llama-3.1-8b'),
    layout: { tp: cell.tp, pp: cell.pp, cp: cell.cp, dp: cell.dp, mbs: cell.mbs },
    sequenceLength: cell.sequenceLength,
    globalBatchSize: GRID_GLOBAL_BATCH,
    fabric: GRID_FABRICS[cell.gpu],
  }, constants).tflopsPerGpu;
}
