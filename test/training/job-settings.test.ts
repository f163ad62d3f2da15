import { Recomputation } from '../../lib/planner/layout';
import { defineModel, findModel, MODEL_CATALOG } from '../../lib/planner/models';
import { planTraining, TrainingPlan } from '../../lib/planner/plan';
import { hfLoaderModelSize } from '../../lib/training/job-settings';
import { renderMegatronSbatch } from '../../lib/training/megatron-launch';
import { SWALLOW_70B_PLAN } from '../../lib/platform/profiles';

/** The `# plan.KEY=value` lines of a launch script, as the jobs read them (the first line with the key wins). */
function planValues(script: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const match of script.matchAll(/^# plan\.([a-z_]+)=(.*)$/gm)) {
    if (!values.has(match[1])) values.set(match[1], match[2]);
  }
  return values;
}

/**
 * `--model-size` choices of Megatron-LM core_v0.15.3's Hugging Face loader: tools/checkpoint/loader_llama_mistral.py
 * line 24 at 309ffca6a40553362d44fd17efc56b772fa1aa44.
 */
const LOADER_CHOICES = ['llama2-7B', 'llama2-13B', 'llama2-70B', 'llama2-7Bf', 'llama2-13Bf', 'llama2-70Bf', 'llama3',
  'mistral', 'yi-34B', 'qwen2.5'];

describe('the launch script tells the conversion, export and tokenization jobs what they need', () => {
  test('swallow-70b: TP8 PP2 with virtual stages, even stages, the llama3 loader, and the launch defaults', () => {
    const { tp, pp, vp } = SWALLOW_70B_PLAN.layout;
    expect([tp, pp, (vp ?? 1) > 1]).toEqual([8, 2, true]);
    const values = planValues(renderMegatronSbatch(SWALLOW_70B_PLAN, { runName: 'swallow-70b', partition: 'gpu' }));
    expect(Object.fromEntries([...values].filter(([key]) => [
      'run_name', 'fsx', 'tp', 'pp', 'vp', 'pipeline', 'hf_loader_model_size', 'tokenizer_model', 'base_checkpoint',
      'container_image'].includes(key)))).toEqual({
      run_name: 'swallow-70b',
      fsx: '/fsx',
      tp: '8',
      pp: '2',
      vp: String(vp),
      pipeline: 'even',
      hf_loader_model_size: 'llama3',
      tokenizer_model: '/fsx/models/llama-3.3-70b',
      base_checkpoint: '/fsx/checkpoints/llama-3.3-70b-base/torch_dist',
      container_image: '/fsx/images/training.sqsh',
    });
  });

  test('the options of the launch are the jobs\' defaults too', () => {
    const values = planValues(renderMegatronSbatch(SWALLOW_70B_PLAN, {
      runName: 'r1', fsxMountPath: '/lustre', tokenizerModel: '/lustre/tok', baseCheckpoint: '',
      containerImage: '/lustre/img.sqsh',
    }));
    expect(values.get('fsx')).toBe('/lustre');
    expect(values.get('tokenizer_model')).toBe('/lustre/tok');
    expect(values.get('base_checkpoint')).toBe('');
    expect(values.get('container_image')).toBe('/lustre/img.sqsh');
  });

  test('Qwen2.5 takes the qwen2.5 loader (Q/K/V biases); an uneven pipeline is marked so the jobs refuse it', () => {
    const qwen: TrainingPlan = planTraining({ model: findModel('qwen2.5-7b'), instanceType: 'ml.p5.48xlarge', nodes: 1,
      tokens: 1e10, sequenceLength: 4096, globalBatchSize: 128 });
    expect(planValues(renderMegatronSbatch(qwen)).get('hf_loader_model_size')).toBe('qwen2.5');
    const plan405 = planTraining({ model: findModel('llama-3.1-405b'), instanceType: 'ml.p5.48xlarge', nodes: 128,
      tokens: 1e12, sequenceLength: 8192, globalBatchSize: 2048, options: { recomputation: Recomputation.FULL } });
    const uneven = { ...plan405, layout: { ...plan405.layout, tp: 4, pp: 16, cp: 1, dp: 16, mbs: 1, vp: 1 } };
    const values = planValues(renderMegatronSbatch(uneven));
    expect(values.get('pipeline')).toBe('uneven');
    expect(values.get('pp')).toBe('16');
  });

  test('a model outside the catalog has no loader size: the conversion job refuses it', () => {
    const model = defineModel({ id: 'custom', name: 'custom 1B', numLayers: 16, hiddenSize: 2048, ffnHiddenSize: 8192,
      numAttentionHeads: 16, numKvHeads: 8, vocabSize: 128256, tiedEmbeddings: false });
    const plan = planTraining({ model, instanceType: 'ml.p5.48xlarge', nodes: 1, tokens: 1e9, sequenceLength: 4096,
      globalBatchSize: 64 });
    expect(planValues(renderMegatronSbatch(plan, { rotaryBase: 500000 })).get('hf_loader_model_size')).toBe('');
  });

  test('every catalog model has a loader size, and every size is one the pinned loader accepts', () => {
    for (const model of MODEL_CATALOG) {
      expect([model.id, LOADER_CHOICES.includes(hfLoaderModelSize(model.id) ?? '')]).toEqual([model.id, true]);
    }
  });
});
