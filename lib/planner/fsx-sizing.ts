import {
  nextPersistent2Capacity, PERSISTENT_2_PER_UNIT_THROUGHPUTS, persistent2CapacityAtLeast, previousPersistent2Capacity,
} from '../catalog/fsx-lustre';
import { FsxConfiguration, fsxThroughputMBps } from './checkpoint';
import { PlannerInputError, requirePositive } from './errors';
import { estimateGoodput, GoodputEstimate, GoodputInput } from './goodput';

/*
 * The FSx for Lustre file system a run should buy: the PERSISTENT_2 capacity and throughput tier that minimise the
 * run's total cost — the GPU time lost to checkpoint stalls, background-write interference, restarts and
 * checkpoint reloads (all through the goodput model), plus the file system's price for the run's duration — among
 * those that hold the dataset and the retained checkpoints under 80% full.
 */

/**
 * PERSISTENT_2 SSD storage price, USD per GB-month, by per-unit throughput (MB/s/TiB), US East (N. Virginia).
 * 125: $0.145 (quoted by c3x.dev's FSx cost estimator from the AWS price list); 250, 500, 1000: $0.210, $0.340,
 * $0.600 as listed on aws.amazon.com/fsx/lustre/pricing at the time of writing, not re-checked here — an
 * assumption: pass `fsxPricePerGBMonth` (CLI `--fsx-price 125=0.145,250=0.21,…`) for your Region and date.
 */
export const DEFAULT_FSX_PRICE_PER_GB_MONTH: Readonly<Record<number, number>> = {
  125: 0.145, 250: 0.21, 500: 0.34, 1000: 0.6,
};

/**
 * Price of a node-hour used to weigh lost GPU time when the plan is given none, USD: an assumption of the order of
 * an ml.p5.48xlarge on-demand hour; pass `pricePerNodeHour` for yours.
 */
export const DEFAULT_SIZING_PRICE_PER_NODE_HOUR = 55;

const HOURS_PER_MONTH = 730;
const GB_PER_GIB = 1024 ** 3 / 1e9;

export interface FsxSizingInput extends Omit<GoodputInput, 'writeSeconds' | 'loadSeconds'> {
  readonly checkpointBytes: number;
  /** Capacity the data needs (retained checkpoints and dataset, with headroom), GiB. */
  readonly minimumCapacityGiB: number;
  /** Seconds of training work (steps × step time) the run needs. */
  readonly workSeconds: number;
  /** @default DEFAULT_SIZING_PRICE_PER_NODE_HOUR */
  readonly pricePerNodeHour?: number;
  /** @default DEFAULT_FSX_PRICE_PER_GB_MONTH */
  readonly fsxPricePerGBMonth?: Readonly<Record<number, number>>;
  /** Evaluate this file system only (an existing one) instead of choosing. */
  readonly fixed?: { readonly capacityGiB: number; readonly perUnitThroughputMBps: number };
}

/** One file system option, costed for the run. */
export interface FsxOption {
  readonly fsx: FsxConfiguration;
  /** Seconds to write one checkpoint (= checkpointWriteSeconds). */
  readonly writeSeconds: number;
  /** Seconds to read one back after a failure (at the same aggregate throughput). */
  readonly reloadSeconds: number;
  readonly goodput: GoodputEstimate;
  readonly wallSeconds: number;
  /** Node-hours lost to checkpoints and failures × price. */
  readonly lostGpuCost: number;
  readonly fsxCost: number;
  /** lostGpuCost + fsxCost: what the choice minimises. */
  readonly totalCost: number;
}

export interface FsxSizing {
  readonly chosen: FsxOption;
  /** The next capacity down at the chosen tier, when it still holds the data. */
  readonly smaller?: FsxOption;
  /** The next capacity up at the chosen tier. */
  readonly larger?: FsxOption;
}

/** Candidates: from the smallest capacity that holds the data up to this many further steps. */
const CAPACITY_STEPS = 200;

/** The cheapest file system for the run, with the trade-off against one size down and up. */
export function sizeFsxByCost(input: FsxSizingInput): FsxSizing {
  requirePositive('checkpointBytes', input.checkpointBytes);
  requirePositive('workSeconds', input.workSeconds);
  const prices = input.fsxPricePerGBMonth ?? DEFAULT_FSX_PRICE_PER_GB_MONTH;
  for (const tier of PERSISTENT_2_PER_UNIT_THROUGHPUTS) {
    if (!(prices[tier] > 0)) {
      throw new PlannerInputError('fsxPricePerGBMonth', `needs a price above 0 for ${tier} MB/s/TiB, got ${prices[tier]}`);
    }
  }
  const minimum = persistent2CapacityAtLeast(input.minimumCapacityGiB);
  if (input.fixed) {
    if (input.fixed.capacityGiB < input.minimumCapacityGiB) {
      throw new PlannerInputError('fsxCapacityTiB', `must hold the retained checkpoints and the dataset: at least `
        + `${Math.ceil(input.minimumCapacityGiB)} GiB, got ${input.fixed.capacityGiB} GiB`);
    }
    return { chosen: cost(input, input.fixed.capacityGiB, input.fixed.perUnitThroughputMBps, prices) };
  }
  let best: FsxOption | undefined;
  for (let step = 0, capacity = minimum; step <= CAPACITY_STEPS; step++, capacity = nextPersistent2Capacity(capacity)) {
    for (const tier of PERSISTENT_2_PER_UNIT_THROUGHPUTS) {
      const option = tryCost(input, capacity, tier, prices);
      if (option && (!best || option.totalCost < best.totalCost)) best = option;
    }
  }
  if (!best) {
    throw new PlannerInputError('fsx', 'no PERSISTENT_2 file system leaves time to train at this failure rate');
  }
  const { storageCapacityGiB: c, perUnitThroughputMBps: tier } = best.fsx;
  const down = c === minimum ? undefined : previousPersistent2Capacity(c);
  return {
    chosen: best,
    smaller: down === undefined ? undefined : tryCost(input, down, tier, prices),
    larger: tryCost(input, nextPersistent2Capacity(c), tier, prices),
  };
}

function tryCost(input: FsxSizingInput, capacity: number, tier: number,
  prices: Readonly<Record<number, number>>): FsxOption | undefined {
  try {
    return cost(input, capacity, tier, prices);
  } catch (e) {
    if (e instanceof PlannerInputError && e.field === 'failuresPerNodeHour') return undefined;
    throw e;
  }
}

function cost(input: FsxSizingInput, capacity: number, tier: number,
  prices: Readonly<Record<number, number>>): FsxOption {
  const throughput = fsxThroughputMBps(capacity / 1024, tier);
  const seconds = input.checkpointBytes / (throughput * 1e6);
  const goodput = estimateGoodput({ ...input, writeSeconds: seconds, loadSeconds: seconds });
  const wallSeconds = input.workSeconds / goodput.goodput;
  const price = input.pricePerNodeHour ?? DEFAULT_SIZING_PRICE_PER_NODE_HOUR;
  const lostGpuCost = input.nodes * (wallSeconds - input.workSeconds) / 3600 * price;
  const fsxCost = capacity * GB_PER_GIB * prices[tier] * wallSeconds / 3600 / HOURS_PER_MONTH;
  return {
    fsx: { storageCapacityGiB: capacity, perUnitThroughputMBps: tier, throughputMBps: throughput,
      checkpointWriteSeconds: seconds },
    writeSeconds: seconds, reloadSeconds: seconds, goodput, wallSeconds, lostGpuCost, fsxCost,
    totalCost: lostGpuCost + fsxCost,
  };
}
