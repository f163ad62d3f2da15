import { PlannerInputError, requirePositive } from './errors';

/*
 * Goodput of a long run: the share of wall-clock time that trains, the rest lost to checkpoint stalls, slower
 * steps while a checkpoint is written in the background, and failures (restart plus the work since the last
 * checkpoint). First-order model of Young (1974) and Daly (2006): with checkpoint cost δ, interval τ, mean time
 * between failures M and restart cost R, wall = work · (1 + δ/τ) / (1 − (R + (τ + δ)/2) / M), and the interval
 * that minimises it is τ ≈ √(2δM).
 */

/**
 * Unexpected interruptions per node-hour: Meta's Llama 3 405B pre-training had 419 unexpected interruptions in a
 * 54-day snapshot on 16,384 H100 (2,048 eight-GPU nodes) — Llama 3 paper (arXiv 2407.21783) §3.3.4, as reported
 * by DatacenterDynamics ("Meta report details hundreds of GPU and HBM3 related interruptions", 2024):
 * 419 / (2048 · 54 · 24) = 1.58e-4 per node-hour.
 */
export const LLAMA3_FAILURES_PER_NODE_HOUR = 419 / (2048 * 54 * 24);

/**
 * Training slows by this share while a checkpoint is written in the background: the same PyTorch blog reports a
 * dip from 372 to 315 tokens/s with process-based async saving (15%; 700 → 320 with thread-based saving).
 */
export const DEFAULT_WRITE_INTERFERENCE = 1 - 315 / 372;

/**
 * Minutes from a failure to the job running again before the checkpoint is read: Slurm requeue and HyperPod's
 * replacement of the faulty node (auto-resume) plus container and process start, NCCL initialisation. An
 * assumption (no public measurement found); overridable.
 */
export const DEFAULT_RESTART_MINUTES = 15;

export interface GoodputInput {
  readonly nodes: number;
  /** @default LLAMA3_FAILURES_PER_NODE_HOUR */
  readonly failuresPerNodeHour?: number;
  /** Seconds training stops for each checkpoint (the asynchronous save's staging stall). */
  readonly stallSeconds: number;
  /** Seconds the background write of one checkpoint takes (checkpoint bytes / file-system throughput). */
  readonly writeSeconds: number;
  /** Seconds to read a checkpoint back after a failure. */
  readonly loadSeconds: number;
  /** @default DEFAULT_WRITE_INTERFERENCE */
  readonly writeInterference?: number;
  /** @default DEFAULT_RESTART_MINUTES */
  readonly restartMinutes?: number;
  /**
   * Interval between checkpoints, seconds.
   * @default Young/Daly √(2δM) in whole minutes (at least one), and at least the write time rounded up to a minute
   */
  readonly intervalSeconds?: number;
}

export interface GoodputEstimate {
  readonly failuresPerHour: number;
  readonly meanTimeBetweenFailuresHours: number;
  /** δ: stall + interference × write time, seconds per checkpoint. */
  readonly checkpointCostSeconds: number;
  readonly stallSeconds: number;
  readonly writeSeconds: number;
  readonly interferenceSeconds: number;
  /** R: requeue and start + checkpoint load, seconds per failure. */
  readonly restartSeconds: number;
  readonly loadSeconds: number;
  readonly intervalSeconds: number;
  /** True when the interval is Young/Daly's (else given, or raised to the write time). */
  readonly youngDaly: boolean;
  /** Shares of wall-clock time lost to each cause; goodput = 1 − their sum. */
  readonly lostToCheckpoints: number;
  readonly lostToRestarts: number;
  readonly lostToRework: number;
  readonly goodput: number;
}

/** Goodput and its terms. */
export function estimateGoodput(input: GoodputInput): GoodputEstimate {
  const rate = input.failuresPerNodeHour ?? LLAMA3_FAILURES_PER_NODE_HOUR;
  if (!(rate >= 0) || !Number.isFinite(rate)) {
    throw new PlannerInputError('failuresPerNodeHour', `must be a number of at least 0, got ${rate}`);
  }
  const interference = input.writeInterference ?? DEFAULT_WRITE_INTERFERENCE;
  if (!(interference >= 0 && interference <= 1)) {
    throw new PlannerInputError('writeInterference', `must be in [0, 1], got ${interference}`);
  }
  const restartMinutes = input.restartMinutes ?? DEFAULT_RESTART_MINUTES;
  if (!(restartMinutes >= 0)) throw new PlannerInputError('restartMinutes', `must be at least 0, got ${restartMinutes}`);
  const failuresPerHour = rate * input.nodes;
  const mtbf = failuresPerHour === 0 ? Infinity : 3600 / failuresPerHour;
  const interferenceSeconds = interference * input.writeSeconds;
  const delta = input.stallSeconds + interferenceSeconds;
  const restart = restartMinutes * 60 + input.loadSeconds;
  // Whole minutes: the optimum is flat (a minute off costs nothing), and a round interval is what a launch script,
  // a reproducing `--checkpoint-interval-min` and a reader expect.
  const daly = Number.isFinite(mtbf) ? Math.max(60, Math.round(Math.sqrt(2 * delta * mtbf) / 60) * 60) : Infinity;
  if (input.intervalSeconds !== undefined) requirePositive('checkpointIntervalMinutes', input.intervalSeconds);
  const chosen = input.intervalSeconds ?? daly;
  // A save must finish writing before the next starts; a given interval that is long enough is kept as given.
  const interval = chosen >= input.writeSeconds ? chosen : Math.ceil(input.writeSeconds / 60) * 60;
  if (!Number.isFinite(interval)) {
    throw new PlannerInputError('checkpointIntervalMinutes', 'is needed when the failure rate is 0');
  }
  // wall = work·(1 + δ/τ) / (1 − (R + (τ + δ)/2)/M); the shares below split 1 − work/wall.
  const checkpointFactor = 1 + delta / interval;
  const failureShare = Number.isFinite(mtbf) ? (restart + (interval + delta) / 2) / mtbf : 0;
  if (failureShare >= 1) {
    throw new PlannerInputError('failuresPerNodeHour', `leaves no time to train: a failure every `
      + `${(mtbf / 3600).toFixed(2)} h against ${(restart / 60).toFixed(0)} min of restart`);
  }
  const goodput = (1 - failureShare) / checkpointFactor;
  const lost = 1 - goodput;
  const checkpointLoss = (delta / interval) / checkpointFactor;
  const failureLoss = lost - checkpointLoss;
  const reworkPart = (interval + delta) / 2;
  return {
    failuresPerHour, meanTimeBetweenFailuresHours: mtbf / 3600, checkpointCostSeconds: delta,
    stallSeconds: input.stallSeconds, writeSeconds: input.writeSeconds, interferenceSeconds,
    restartSeconds: restart, loadSeconds: input.loadSeconds, intervalSeconds: interval,
    youngDaly: input.intervalSeconds === undefined && interval === daly,
    lostToCheckpoints: checkpointLoss,
    lostToRestarts: failureLoss * (restart / (restart + reworkPart)),
    lostToRework: failureLoss * (reworkPart / (restart + reworkPart)),
    goodput,
  };
}
