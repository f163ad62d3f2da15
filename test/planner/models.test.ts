import { GPU_CATALOG, GpuType } from '../../lib/catalog/gpus';
import { HYPERPOD_GPU_INSTANCES, HYPERPOD_INSTANCE_TYPES } from '../../lib/catalog/hyperpod-instance-types';
import { findGpu } from '../../lib/planner/gpus';
import { findInstanceType } from '../../lib/planner/instances';
import { countParameters, defineModel, findModel, MODEL_CATALOG } from '../../lib/planner/models';
import { PlannerInputError } from '../../lib/planner/errors';
import { readCsv } from './fixtures';

/** 'Llama-3.3-70B(-Instruct)' -> 'llama-3.3-70b'. */
function idOf(name: string): string {
  return name.replace(/\(.*\)/, '').toLowerCase();
}

describe('model catalog', () => {
  const rows = readCsv('model-configs.csv');

  test.each(rows.map((r) => [idOf(r.model), r] as const))('%s matches its config.json', (id, row) => {
    const model = findModel(id);
    expect(model).toMatchObject({
      hiddenSize: Number(row.hidden_size), numLayers: Number(row.num_layers),
      numAttentionHeads: Number(row.num_attention_heads), numKvHeads: Number(row.num_kv_heads),
      ffnHiddenSize: Number(row.ffn_hidden_size), vocabSize: Number(row.vocab_size),
      tiedEmbeddings: row.tie_word_embeddings === 'true', qkvBias: row.qkv_bias === 'true',
    });
    expect(countParameters(model)).toBe(Number(row.total_params));
  });

  test('holds exactly the reference models', () => {
    expect(MODEL_CATALOG.map((m) => m.id).sort()).toEqual(rows.map((r) => idOf(r.model)).sort());
  });

  test('an unknown id is refused with the list of valid ids', () => {
    expect(() => findModel('llama-4-8b')).toThrow(PlannerInputError);
    expect(() => findModel('llama-4-8b')).toThrow(/llama-3\.1-8b, .*qwen2\.5-72b, got 'llama-4-8b'/);
  });

  test('ids are case-insensitive', () => {
    expect(findModel('Llama-3.3-70B').id).toBe('llama-3.3-70b');
  });

  test('a custom architecture is checked and counted like a catalog one', () => {
    const custom = defineModel({
      id: 'custom', name: 'custom', hiddenSize: 4096, ffnHiddenSize: 14336, numLayers: 32,
      numAttentionHeads: 32, numKvHeads: 8, vocabSize: 128256, tiedEmbeddings: true,
    });
    // Tied: one embedding matrix fewer than Llama-3.1-8B.
    expect(countParameters(custom)).toBe(8030261248 - 4096 * 128256);
    expect(() => defineModel({ ...custom, numKvHeads: 5 })).toThrow(/numKvHeads must divide numAttentionHeads 32/);
    expect(() => defineModel({ ...custom, hiddenSize: 4100 })).toThrow(/must divide hiddenSize 4100/);
    expect(() => defineModel({ ...custom, numLayers: 0 })).toThrow(/numLayers must be a positive integer/);
  });
});

describe('GPU and instance catalogs', () => {
  test('every required GPU is there with its dense BF16 peak', () => {
    expect(Object.fromEntries(GPU_CATALOG.map((g) => [g.type, g.denseBf16Tflops]))).toMatchObject({
      'a100-40gb': 312, 'a100-80gb': 312, 'h100-80gb': 989, 'h100-94gb': 989, 'h200-141gb': 989,
    });
    expect(() => findGpu('b200')).toThrow(/a100-40gb, .*h200-141gb, got 'b200'/);
  });

  test.each([
    ['ml.p4d.24xlarge', GpuType.A100_40GB, 8, 4],
    ['ml.p4de.24xlarge', GpuType.A100_80GB, 8, 4],
    ['ml.p5.48xlarge', GpuType.H100_80GB, 8, 32],
    ['ml.p5e.48xlarge', GpuType.H200_141GB, 8, 32],
    ['ml.p5en.48xlarge', GpuType.H200_141GB, 8, 16],
    ['ml.g5.48xlarge', GpuType.A10G_24GB, 8, 1],
    ['ml.g5.12xlarge', GpuType.A10G_24GB, 4, 1],
  ])('%s: %s x%d, %d EFA', (name, gpu, perNode, efa) => {
    expect(findInstanceType(name)).toMatchObject({ gpu, gpusPerNode: perNode, efaInterfaces: efa });
  });

  test('the ml. prefix may be left out; unknown names list the valid ones', () => {
    expect(findInstanceType('p5.48xlarge').name).toBe('ml.p5.48xlarge');
    expect(() => findInstanceType('ml.p9.48xlarge')).toThrow(/ml\.p4d\.24xlarge, .*ml\.g5\.48xlarge, got/);
  });

  test('agrees with the cluster construct catalog on GPUs per node and EFA cards', () => {
    for (const planned of HYPERPOD_GPU_INSTANCES) {
      const cluster = HYPERPOD_INSTANCE_TYPES.find((t) => t.name === planned.name);
      expect(cluster).toBeDefined();
      expect([planned.name, cluster?.acceleratorsPerNode, cluster?.efaInterfaces])
        .toEqual([planned.name, planned.gpusPerNode, planned.efaInterfaces]);
    }
  });
});
