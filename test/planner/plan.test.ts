import { estimateMemory, memoryVerdict } from '../../lib/planner/memory';
import { findGpu } from '../../lib/planner/gpus';
import { findModel } from '../../lib/planner/models';
import { planTraining, PlanInput } from '../../lib/planner/plan';
import { PlannerInputError } from '../../lib/planner/errors';
import { readCsv } from './fixtures';

const swallow: PlanInput = {
  model: findModel('llama-3.3-70b'), instanceType: 'ml.p5.48xlarge', nodes: 32, tokens: 314e9,
  sequenceLength: 8192, globalBatchSize: 1024,
};

describe('planTraining: Llama 3.3 Swallow 70B (314e9 tokens on 32 ml.p5.48xlarge, about 16 days)', () => {
  const plan = planTraining({ ...swallow, pricePerNodeHour: 55 });

  test('lands in the 13-19 day band', () => {
    expect(plan.days).toBeGreaterThan(13);
    expect(plan.days).toBeLessThan(19);
  });

  test('its effective rate (goodput included) is within 15% of the run\'s derived ~887 tokens/s per GPU', () => {
    const row = readCsv('throughput-reference.csv').find((r) => r.model.includes('Swallow 70B'));
    const derived = Number(/~(\d+)/.exec(row?.tokens_per_s_per_GPU ?? '')?.[1]);
    expect(derived).toBe(887);
    expect(Math.abs(plan.tokensPerSecondPerGpu * plan.goodput / derived - 1)).toBeLessThan(0.15);
  });

  test('picks a layout that fits 80 GB by the 80% rule', () => {
    const memory = estimateMemory({ model: swallow.model, layout: plan.layout, sequenceLength: 8192,
      globalBatchSize: 1024 });
    expect(memoryVerdict(memory.totalGiB, findGpu('h100-80gb')).fits).toBe(true);
    expect(plan.memory.totalGiB).toBeCloseTo(memory.totalGiB, 9);
    const l = plan.layout;
    expect(l.tp * l.pp * l.cp * l.dp).toBe(256);
  });

  test('days, GPU-hours, node-hours and cost agree with one another', () => {
    expect(plan.gpus).toBe(256);
    expect(plan.gpuHours).toBeCloseTo(plan.days * 24 * 256, 6);
    expect(plan.nodeHours).toBeCloseTo(plan.days * 24 * 32, 6);
    expect(plan.cost).toBeCloseTo(plan.nodeHours * 55, 6);
    expect(plan.steps).toBe(Math.ceil(314e9 / (1024 * 8192)));
    expect(plan.days).toBeCloseTo(plan.steps * plan.stepSeconds / plan.goodput / 86400, 9);
    expect(plan.tokensPerSecondPerGpu).toBeCloseTo(1024 * 8192 / (plan.stepSeconds * 256), 9);
  });

  test('no price, no cost', () => {
    expect(planTraining(swallow).cost).toBeUndefined();
  });

  test('a given goodput replaces the model\'s and stretches the wall-clock time', () => {
    expect(planTraining({ ...swallow, pricePerNodeHour: 55, goodput: plan.goodput / 2 }).days)
      .toBeCloseTo(plan.days * 2, 6);
    expect(() => planTraining({ ...swallow, goodput: 1.5 })).toThrow(/goodput must be in \(0, 1\]/);
  });

  test('recommends the file system of least run cost that holds the retained checkpoints and the dataset', () => {
    const fsx = plan.recommendedFsx;
    const needGiB = (2 * plan.checkpoint.bytes + 314e9 * 4) / 1024 ** 3;
    expect(fsx.storageCapacityGiB * 0.8).toBeGreaterThanOrEqual(needGiB);
    expect(fsx.checkpointWriteSeconds).toBeLessThanOrEqual(plan.checkpointIntervalMinutes * 60);
    const { chosen, smaller, larger } = plan.fsxSizing;
    expect(chosen.fsx).toEqual(fsx);
    for (const other of [smaller, larger]) expect(other!.totalCost).toBeGreaterThanOrEqual(chosen.totalCost);
    expect(chosen.totalCost).toBeCloseTo(chosen.fsxCost + chosen.lostGpuCost, 6);
    // Dearer GPU time buys a faster file system.
    const dear = planTraining({ ...swallow, pricePerNodeHour: 550 }).recommendedFsx;
    expect(dear.throughputMBps).toBeGreaterThanOrEqual(fsx.throughputMBps);
    const cheap = planTraining({ ...swallow, pricePerNodeHour: 0.5 }).recommendedFsx;
    expect(cheap.throughputMBps).toBeLessThan(fsx.throughputMBps);
  });

  test('goodput is a model: each term printed, days near the reported 16.25 for the right reasons', () => {
    const g = plan.goodputModel;
    expect(plan.goodput).toBe(g.goodput);
    expect(g.meanTimeBetweenFailuresHours).toBeCloseTo(1 / (32 * 419 / (2048 * 54 * 24)), 6);
    expect(g.youngDaly).toBe(true);
    // Young/Daly's √(2δM), in whole minutes.
    const daly = Math.sqrt(2 * g.checkpointCostSeconds * g.meanTimeBetweenFailuresHours * 3600);
    expect(g.intervalSeconds % 60).toBe(0);
    expect(Math.abs(g.intervalSeconds - daly)).toBeLessThanOrEqual(30);
    expect(plan.checkpointIntervalMinutes).toBe(g.intervalSeconds / 60);
    expect(g.lostToCheckpoints + g.lostToRestarts + g.lostToRework).toBeCloseTo(1 - g.goodput, 9);
    expect(g.goodput).toBeGreaterThan(0.95);
    expect(Math.abs(plan.days / 16.25 - 1)).toBeLessThan(0.1);
    // More failures, lower goodput and a shorter interval.
    const flaky = planTraining({ ...swallow, pricePerNodeHour: 55, failuresPerNodeHour: 10 * g.failuresPerHour / 32 });
    expect(flaky.goodput).toBeLessThan(plan.goodput);
    expect(flaky.goodputModel.intervalSeconds).toBeLessThan(g.intervalSeconds);
  });

  test('the interval is a whole number of minutes unless given: at least the write time, rounded up', () => {
    const slow = planTraining({ ...swallow, fsxCapacityTiB: 4800 / 1024, fsxPerUnitThroughputMBps: 125,
      checkpointIntervalMinutes: 1 });
    // 988 GB at 586 MB/s: 28.1 min to write, so the next save can start after 29 minutes.
    expect(slow.checkpoint.writeSeconds / 60).toBeCloseTo(28.1, 1);
    expect(slow.checkpointIntervalMinutes).toBe(29);
    expect(planTraining({ ...swallow, checkpointIntervalMinutes: 7.5 }).checkpointIntervalMinutes).toBe(7.5);
  });

  test('checkpoint write times on a given file system', () => {
    const withFsx = planTraining({ ...swallow, fsxCapacityTiB: 48, fsxPerUnitThroughputMBps: 250 });
    expect(withFsx.checkpoint.writeSeconds).toBeCloseTo(82.3, 1);
    expect(withFsx.recommendedFsx).toMatchObject({ storageCapacityGiB: 48 * 1024, perUnitThroughputMBps: 250 });
    expect(withFsx.fsxSizing.chosen.reloadSeconds).toBeCloseTo(82.3, 1);
    expect(withFsx.checkpoint.asyncStallSeconds).toBeLessThan(withFsx.checkpoint.writeSeconds);
  });

  test('the summary line names the layout, speed, days and storage', () => {
    const l = plan.layout;
    expect(plan.summary).toContain(`TP${l.tp} PP${l.pp} CP${l.cp} DP${l.dp} mbs${l.mbs} vp${l.vp}`);
    expect(plan.summary).toContain(`${plan.days.toFixed(1)} days`);
    expect(plan.summary).toContain(`FSx ${plan.recommendedFsx.storageCapacityGiB} GiB`);
    expect(plan.summary).not.toContain('\n');
  });
});

describe('planTraining input errors', () => {
  test('a model that fits nowhere on the cluster is refused with advice', () => {
    expect(() => planTraining({ ...swallow, model: findModel('llama-3.1-405b'), nodes: 2 }))
      .toThrow(PlannerInputError);
    expect(() => planTraining({ ...swallow, model: findModel('llama-3.1-405b'), nodes: 2 }))
      .toThrow(/Llama-3.1-405B fits no valid layout of 16 H100 80GB GPUs/);
  });

  test('an unknown instance type lists the valid ones', () => {
    expect(() => planTraining({ ...swallow, instanceType: 'ml.p9.48xlarge' })).toThrow(/ml\.p5\.48xlarge/);
  });

  test('nodes must be a positive integer', () => {
    expect(() => planTraining({ ...swallow, nodes: 0 })).toThrow(/nodes must be a positive integer/);
  });
});
