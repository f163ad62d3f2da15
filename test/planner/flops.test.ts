import { flopsPerToken } from '../../lib/planner/flops';
import { countParameters, findModel } from '../../lib/planner/models';

describe('FLOPs per token (Megatron, non-causal attention)', () => {
  const llama70b = findModel('llama-3-70b');

  test('Llama-3-70B at sequence 8192: 4.814e11, 1.137 x 6N', () => {
    const flops = flopsPerToken(llama70b, 8192);
    expect(flops / 1e11).toBeCloseTo(4.814, 3);
    expect(flops / (6 * countParameters(llama70b))).toBeCloseTo(1.137, 3);
  });

  test('equals 6·N_matmul + 12·L·h·s, the full (non-causal) attention term', () => {
    const m = findModel('llama-3.1-8b');
    const h = m.hiddenSize;
    const norms = m.numLayers * 2 * h + h; // RMSNorm weights do no matmul
    const inputEmbedding = h * m.vocabSize; // a lookup, not a matmul
    const matmulParams = countParameters(m) - norms - inputEmbedding;
    expect(flopsPerToken(m, 4096)).toBeCloseTo(6 * matmulParams + 12 * m.numLayers * h * 4096, -3);
  });

  test('the attention term grows with the sequence', () => {
    const m = findModel('llama-3.1-8b');
    expect(flopsPerToken(m, 16384) - flopsPerToken(m, 8192)).toBeCloseTo(12 * 32 * 4096 * 8192, -3);
  });
});
