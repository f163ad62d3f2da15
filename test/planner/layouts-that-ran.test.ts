import { findInstanceType } from '../../lib/planner/instances';
import { layoutProblems } from '../../lib/planner/layout';
import { findModel } from '../../lib/planner/models';
import { searchLayouts } from '../../lib/planner/search';
import { estimateThroughput, fabricForInstance } from '../../lib/planner/throughput';
import { GRID_FABRICS, GRID_GLOBAL_BATCH, predictCell, readGrid } from './fixtures';

/* "No layout that runs is refused": every layout reported as run is accepted and predicted. */

const llama8b = findModel('llama-3.1-8b');
const llama405b = findModel('llama-3.1-405b');
const p5 = fabricForInstance(findInstanceType('ml.p5.48xlarge'));

describe('the Llama-3.1-8B grid', () => {
  const ran = [...readGrid('llama31-8b-4d-grid.csv'), ...readGrid('llama31-8b-4d-grid-s16384.csv')]
    .filter((c) => c.status === 'ran');

  test('no layout that ran is refused, including TP·CP spanning nodes', () => {
    const refused = ran.map((c) => ({ c, problems: layoutProblems(llama8b,
      { tp: c.tp, pp: c.pp, cp: c.cp, dp: c.dp, mbs: c.mbs },
      { sequenceLength: c.sequenceLength, globalBatchSize: GRID_GLOBAL_BATCH, totalGpus: c.gpus,
        gpusPerNode: GRID_FABRICS[c.gpu].gpusPerNode }) }))
      .filter((r) => r.problems.length > 0);
    expect(refused).toEqual([]);
    const across = ran.filter((c) => c.tp * c.cp > GRID_FABRICS[c.gpu].gpusPerNode);
    expect(across.length).toBeGreaterThanOrEqual(12);
    for (const c of across) expect(predictCell(c)).toBeGreaterThan(0);
  });

  test('the search offers layouts whose TP·CP spans nodes, ranked below those inside a node', () => {
    const ranked = searchLayouts({ model: llama8b, fabric: GRID_FABRICS['H100 94GB'], totalGpus: 16,
      sequenceLength: 8192, globalBatchSize: GRID_GLOBAL_BATCH, maxMbs: 2 });
    const spans = ranked.filter((c) => c.layout.tp * c.layout.cp > 4);
    expect(spans.length).toBeGreaterThan(0);
    expect(ranked[0].layout.tp * ranked[0].layout.cp).toBeLessThanOrEqual(4);
  });
});

describe('published large runs', () => {
  test('NVIDIA\'s Llama 3.1 405B recipe (TP8 PP8 CP2 VP8, 1024 H100): CP2 across nodes is predicted', () => {
    const layout = { tp: 8, pp: 8, cp: 2, dp: 8, mbs: 1, vp: 8 };
    const ctx = { sequenceLength: 8192, globalBatchSize: 1536, totalGpus: 1024, gpusPerNode: 8,
      embeddingAndLossInSplit: true };
    expect(layoutProblems(llama405b, layout, ctx)).toEqual([]);
    const t = estimateThroughput({ model: llama405b, layout, sequenceLength: 8192, globalBatchSize: 1536, fabric: p5 });
    expect(t.breakdown.contextParallelSeconds).toBeGreaterThan(0);
    expect(t.tflopsPerGpu).toBeGreaterThan(200);
  });

  test('Meta\'s Llama 3.1 405B at 131,072 tokens (TP8 CP16 PP16, 16,384 H100) is accepted and predicted', () => {
    const layout = { tp: 8, pp: 16, cp: 16, dp: 8, mbs: 1, vp: 8 };
    const ctx = { sequenceLength: 131072, globalBatchSize: 128, totalGpus: 16384, gpusPerNode: 8,
      embeddingAndLossInSplit: true };
    expect(layoutProblems(llama405b, layout, ctx)).toEqual([]);
    const t = estimateThroughput({ model: llama405b, layout, sequenceLength: 131072, globalBatchSize: 128, fabric: p5 });
    expect(t.tflopsPerGpu).toBeGreaterThan(100);
  });
});
