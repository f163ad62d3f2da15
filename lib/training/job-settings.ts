import { pipelineSplit, vpOf } from '../planner/layout';
import { TrainingPlan } from '../planner/plan';

/*
 * What the fixed jobs beside the launch (lib/cluster/lifecycle/jobs: convert-hf-to-megatron.sbatch,
 * export-megatron-to-hf.sbatch, tokenize.sbatch) need to know about a plan, as `# plan.<key>=<value>` lines of the
 * generated launch script. The jobs read them (and the launch script itself for the multi-node steps); the bash
 * stays in the .sh/.sbatch files.
 */

/**
 * The `--model-size` of Megatron-LM core_v0.15.3's Hugging Face loader (`tools/checkpoint/loader_llama_mistral.py`,
 * line 24 at 309ffca6: llama2-7B, llama2-13B, llama2-70B, …, llama3, mistral, yi-34B, qwen2.5) for each catalog
 * model. For a Hugging Face checkpoint the loader reads the architecture from config.json; the size picks the
 * tokenizer type and Qwen's Q/K/V biases.
 */
const HF_LOADER_MODEL_SIZE: ReadonlyMap<string, string> = new Map([
  ['llama-2-7b', 'llama2-7B'],
  ['llama-2-13b', 'llama2-13B'],
  ['llama-2-70b', 'llama2-70B'],
  ['llama-3-8b', 'llama3'],
  ['llama-3.1-8b', 'llama3'],
  ['llama-3-70b', 'llama3'],
  ['llama-3.1-70b', 'llama3'],
  ['llama-3.3-70b', 'llama3'],
  ['llama-3.1-405b', 'llama3'],
  ['qwen2.5-7b', 'qwen2.5'],
  ['qwen2.5-72b', 'qwen2.5'],
]);

/** The loader's `--model-size` for a model id; undefined for a model the loader does not know. */
export function hfLoaderModelSize(modelId: string): string | undefined {
  return HF_LOADER_MODEL_SIZE.get(modelId);
}

/** Defaults of the launch script the jobs share with it. */
export interface JobDefaults {
  /** The run: its checkpoints `<fsx>/checkpoints/<runName>`, the export's default name `<runName>-iter<N>`. */
  readonly runName: string;
  /** Mount path of the shared file system; the jobs find job-library.sh in its `jobs/`. */
  readonly fsx: string;
  /** The base model's Hugging Face directory: its tokenizer, and the input of the conversion. */
  readonly tokenizerModel: string;
  /** Where the conversion writes the base model (`…/torch_dist`); empty: the run trains from scratch. */
  readonly baseCheckpoint: string;
  /** The training image (enroot squashfs) the jobs run in; empty: the host. */
  readonly containerImage: string;
}

/**
 * The `[key, value]` pairs for the launch script's `# plan.` lines: the layout the checkpoint conversions write,
 * whether tools/checkpoint can write it (even pipeline stages: its saver splits layers evenly), the loader's model
 * size (empty: none), and the defaults the jobs share with the launch.
 */
export function jobSettings(plan: TrainingPlan, defaults: JobDefaults): Array<[string, string]> {
  const split = pipelineSplit(plan.model.numLayers, plan.layout.pp);
  return [
    ['run_name', defaults.runName],
    ['fsx', defaults.fsx],
    ['tp', String(plan.layout.tp)],
    ['pp', String(plan.layout.pp)],
    ['vp', String(vpOf(plan.layout))],
    ['pipeline', split?.uneven ? 'uneven' : 'even'],
    ['hf_loader_model_size', hfLoaderModelSize(plan.model.id) ?? ''],
    ['tokenizer_model', defaults.tokenizerModel],
    ['base_checkpoint', defaults.baseCheckpoint],
    ['container_image', defaults.containerImage],
  ];
}
