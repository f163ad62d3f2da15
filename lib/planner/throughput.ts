import { PlannerInputError } from './errors';
import {
  flopsPerToken, layerAttentionFlopsPerToken, layerGemmFlopsPerToken, outputLayerFlopsPerToken,
} from './flops';
import { GpuArchitecture, GpuSpec, GpuType } from './gpus';
import { GpuInstanceType, instanceGpu } from './instances';
import {
  ParallelLayout, pipelineSplit, Recomputation, resolveOptions, ResolvedTrainingOptions, TrainingOptions, vpOf,
} from './layout';
import { parametersOnMostLoadedGpu } from './memory';
import { ModelArchitecture } from './models';

/*
 * A step-time model of Megatron-LM training (1F1B pipeline schedule, sequence parallelism, distributed optimizer
 * with overlapped gradient reduce-scatter and parameter all-gather). Each term is a physical cost — GEMM time at a
 * fitted fraction of peak, element-wise kernels at memory bandwidth, tensor-parallel collectives over NVLink,
 * context-parallel ring exchanges, the pipeline bubble and stage boundaries, data-parallel traffic over the
 * network that the last micro-batch does not hide — scaled by a constant fitted on measured throughput.
 * TFLOP/s are Megatron's non-causal model FLOPs (see flops.ts), the unit of the calibration data.
 */

/** Where the GPUs sit: the GPU, how many share a node (NVLink), and the network between nodes. */
export interface ClusterFabric {
  readonly gpu: GpuSpec;
  readonly gpusPerNode: number;
  /** Inter-node (EFA / InfiniBand) bandwidth per GPU, Gbit/s: node bandwidth / GPUs per node. */
  readonly networkGbpsPerGpu: number;
}

/** The fabric of a HyperPod instance type. */
export function fabricForInstance(instanceType: GpuInstanceType): ClusterFabric {
  return {
    gpu: instanceGpu(instanceType),
    gpusPerNode: instanceType.gpusPerNode,
    networkGbpsPerGpu: instanceType.networkGbps / instanceType.gpusPerNode,
  };
}

/**
 * Network per GPU of each GPU's usual node, used when only a GPU is named: the AWS instance that carries it, and for
 * the H100 94GB the TSUBAME 4.0 node of the calibration grid (4 GPUs, 4× InfiniBand NDR200).
 */
const REFERENCE_NODE: Record<GpuType, { gpusPerNode: number; nodeGbps: number }> = {
  [GpuType.A10G_24GB]: { gpusPerNode: 8, nodeGbps: 100 }, // ml.g5.48xlarge
  [GpuType.A100_40GB]: { gpusPerNode: 8, nodeGbps: 400 }, // ml.p4d.24xlarge
  [GpuType.A100_80GB]: { gpusPerNode: 8, nodeGbps: 400 }, // ml.p4de.24xlarge
  [GpuType.H100_80GB]: { gpusPerNode: 8, nodeGbps: 3200 }, // ml.p5.48xlarge
  [GpuType.H100_94GB]: { gpusPerNode: 4, nodeGbps: 800 }, // TSUBAME 4.0
  [GpuType.H200_141GB]: { gpusPerNode: 8, nodeGbps: 3200 }, // ml.p5en.48xlarge
};

/** The fabric of a GPU's reference node; `gpusPerNode` overrides the node size, keeping the network per GPU. */
export function defaultFabric(gpu: GpuSpec, gpusPerNode?: number): ClusterFabric {
  const ref = REFERENCE_NODE[gpu.type];
  return { gpu, gpusPerNode: gpusPerNode ?? ref.gpusPerNode, networkGbpsPerGpu: ref.nodeGbps / ref.gpusPerNode };
}

/** The fitted constants of the model (see FITTED_THROUGHPUT_CONSTANTS). */
export interface ThroughputConstants {
  /** Fraction of dense BF16 peak the GEMMs reach on Ampere GPUs. */
  readonly ampereEfficiency: number;
  /** Fraction of dense BF16 peak the GEMMs reach on Hopper GPUs. */
  readonly hopperEfficiency: number;
  /** Fixed cost of one tensor-parallel collective (launch, synchronisation, small-message latency), seconds. */
  readonly tpLatencySeconds: number;
  /** Exposed tensor-parallel traffic, as a multiple of bytes / NVLink bandwidth. */
  readonly tpBandwidthFactor: number;
  /** Extra attention time per additional context-parallel rank (chunked kernels, result merging). */
  readonly cpAttentionOverhead: number;
  /** Fixed cost per micro-batch of the pipeline schedule's sends and receives on each stage, seconds. */
  readonly stageBoundarySeconds: number;
  /** Achieved fraction of network bandwidth for the data-parallel reduce-scatter and all-gather. */
  readonly dpBandwidthFactor: number;
  /** Fraction of the last micro-batch's stage time that hides data-parallel traffic. */
  readonly dpOverlap: number;
}

/**
 * Fitted by test/planner/calibrate.ts: Nelder–Mead on the mean squared log error over the 122 measured layouts of
 * the Llama-3.1-8B grid at sequence 8192 (A100 40GB on 8-GPU nodes with 4× HDR200, H100 94GB on 4-GPU nodes with
 * 4× NDR200, global batch 1024), within physical bounds. The 16384-token grid and the published Llama 3 405B and
 * Swallow 70B figures were left out of the fit and serve as checks (docs/planner.md).
 */
export const FITTED_THROUGHPUT_CONSTANTS: ThroughputConstants = {
  ampereEfficiency: 0.8607,
  hopperEfficiency: 0.7025,
  tpLatencySeconds: 151.9e-6,
  tpBandwidthFactor: 0.5979,
  cpAttentionOverhead: 0.3283,
  stageBoundarySeconds: 0.0348,
  dpBandwidthFactor: 0.5490,
  dpOverlap: 0.3263,
};

/**
 * Bytes of element-wise traffic (norms, residual adds, rotary embedding, SwiGLU, casts; forward and backward) per
 * token and layer, as 2-byte elements: about three times a minimal count of (40h + 10f) elements, the value the
 * calibration reaches when left free (it runs into this bound). It makes large-hidden models relatively cheaper.
 */
function elementwiseBytesPerToken(model: ModelArchitecture): number {
  return 2 * 3 * (40 * model.hiddenSize + 10 * model.ffnHiddenSize);
}

export interface ThroughputInput {
  readonly model: ModelArchitecture;
  readonly layout: ParallelLayout;
  readonly sequenceLength: number;
  readonly globalBatchSize: number;
  readonly fabric: ClusterFabric;
  readonly options?: TrainingOptions;
}

/** Seconds of one training step, by cause (they add up to `stepSeconds`). */
export interface StepTimeBreakdown {
  /** GEMMs, attention and element-wise kernels of all micro-batches. */
  readonly computeSeconds: number;
  /** Tensor-parallel collectives. */
  readonly tensorParallelSeconds: number;
  /** Context-parallel ring exchanges and attention overhead. */
  readonly contextParallelSeconds: number;
  /** Pipeline bubble and stage-boundary transfers. */
  readonly pipelineSeconds: number;
  /** Data-parallel gradient/parameter traffic not hidden behind compute. */
  readonly dataParallelSeconds: number;
}

export interface ThroughputEstimate {
  /** Model TFLOP/s per GPU, Megatron's non-causal convention. */
  readonly tflopsPerGpu: number;
  readonly tokensPerSecondPerGpu: number;
  /** tflopsPerGpu / dense BF16 peak. */
  readonly mfu: number;
  readonly stepSeconds: number;
  /** Micro-batches per pipeline per step: global batch / (micro-batch · DP). */
  readonly microBatchesPerStep: number;
  /** Share of the step the pipeline sits idle: ((PP − 1)/VP) / (micro-batches + (PP − 1)/VP). */
  readonly bubbleFraction: number;
  readonly breakdown: StepTimeBreakdown;
}

interface MicroBatchTimes {
  compute: number;
  tensorParallel: number;
  contextParallel: number;
  boundary: number;
  /**
   * Slowest stage: the last when PP divides the layers (it also runs the output layer and loss); with uneven stages
   * a middle one (most layers) or the last (fewer layers plus the output layer), whichever takes longer.
   */
  stage: number;
}

/** Predicted step time and throughput of a layout. Does not check that the layout is valid (see validateLayout). */
export function estimateThroughput(input: ThroughputInput,
  constants: ThroughputConstants = FITTED_THROUGHPUT_CONSTANTS): ThroughputEstimate {
  const { model, layout, fabric } = input;
  if (input.globalBatchSize % (layout.mbs * layout.dp) !== 0) {
    throw new PlannerInputError('globalBatchSize',
      `must be divisible by micro-batch·DP = ${layout.mbs * layout.dp}, got ${input.globalBatchSize}`);
  }
  const options = resolveOptions(input.options);
  const v = vpOf(layout);
  const micro = microBatchTimes(input, options, constants);
  const perMicro = micro.stage + micro.boundary;
  const m = input.globalBatchSize / (layout.mbs * layout.dp);
  // Filling and draining the pipeline: PP − 1 slots (divided by VP), each counted at the slowest stage's time. With
  // uneven stages the lighter first and last stages make it slightly shorter (for 7 + 14×8 + 7 about 118.5 instead
  // of 120 layer-times); the bound is kept so that even and uneven splits are counted alike.
  const bubbleUnits = (layout.pp - 1) / v;
  const dpSeconds = exposedDataParallelSeconds(input, options, constants, micro.stage);
  const stepSeconds = (m + bubbleUnits) * perMicro + dpSeconds;
  const gpus = layout.tp * layout.pp * layout.cp * layout.dp;
  const tokensPerSecondPerGpu = input.globalBatchSize * input.sequenceLength / (gpus * stepSeconds);
  const tflopsPerGpu = tokensPerSecondPerGpu * flopsPerToken(model, input.sequenceLength) / 1e12;
  return {
    tflopsPerGpu,
    tokensPerSecondPerGpu,
    mfu: tflopsPerGpu / fabric.gpu.denseBf16Tflops,
    stepSeconds,
    microBatchesPerStep: m,
    bubbleFraction: bubbleUnits / (m + bubbleUnits),
    breakdown: {
      computeSeconds: m * micro.compute,
      tensorParallelSeconds: m * micro.tensorParallel,
      contextParallelSeconds: m * micro.contextParallel,
      pipelineSeconds: bubbleUnits * perMicro + m * micro.boundary,
      dataParallelSeconds: dpSeconds,
    },
  };
}

/** Times of one micro-batch on the slowest pipeline stage. */
function microBatchTimes(input: ThroughputInput, options: ResolvedTrainingOptions,
  k: ThroughputConstants): MicroBatchTimes {
  const { model, layout, fabric } = input;
  const { tp, cp, pp } = layout;
  const gpu = fabric.gpu;
  const flops = gpu.denseBf16Tflops * 1e12
    * (gpu.architecture === GpuArchitecture.HOPPER ? k.hopperEfficiency : k.ampereEfficiency);
  const tokens = layout.mbs * input.sequenceLength / cp; // tokens of this GPU's sequence chunk
  // Recomputation repeats forward work: forward is one unit of three (backward two). Full recomputation repeats
  // the whole layer's forward pass, selective only core attention's.
  const forwardPasses = options.recomputation === Recomputation.FULL ? 2 : 1;
  const passScale = (forwardPasses + 2) / 3;
  const attentionScale = options.recomputation === Recomputation.NONE ? 1 : 4 / 3;
  const attention = layerAttentionFlopsPerToken(model, input.sequenceLength) * tokens / tp / flops
    * attentionScale;
  const layerCompute = (layerGemmFlopsPerToken(model) * tokens / tp / flops
    + elementwiseBytesPerToken(model) * tokens / tp / (gpu.memoryBandwidthTBps * 1e12)) * passScale + attention;
  const layerCp = cp === 1 ? 0 : attention * k.cpAttentionOverhead * (cp - 1)
    + (forwardPasses + 2) * (cp - 1) * 4 * tokens * model.hiddenSize
      * (model.numKvHeads / model.numAttentionHeads) / tp / bytesPerSecond(fabric, tp * cp);
  const layerTp = tp === 1 ? 0 : (4 * forwardPasses + 6)
    * (k.tpLatencySeconds + k.tpBandwidthFactor * 2 * tokens * model.hiddenSize * (tp - 1) / tp
      / bytesPerSecond(fabric, tp));
  const output = outputLayerFlopsPerToken(model) * tokens / tp / flops;
  const perLayer = layerCompute + layerTp + layerCp;
  // The pipeline runs at the pace of its slowest stage. PP dividing the layers: the last (L/PP layers and the
  // output layer). Uneven: the first and last stages have fewer layers, so a middle stage with ⌈L/PP⌉ layers may
  // be the slowest; the lighter stages wait for it.
  const split = pipelineSplit(model.numLayers, pp);
  const lastLayers = split?.uneven ? split.last : model.numLayers / pp;
  const middleLayers = split?.uneven ? split.middle : 0;
  const middleSlowest = middleLayers * perLayer > lastLayers * perLayer + output;
  const layers = middleSlowest ? middleLayers : lastLayers;
  const stageOutput = middleSlowest ? 0 : output;
  return {
    compute: layers * layerCompute + stageOutput,
    tensorParallel: layers * layerTp,
    contextParallel: layers * layerCp,
    boundary: pp === 1 ? 0 : stageBoundarySeconds(input, k),
    stage: layers * perLayer + stageOutput,
  };
}

/**
 * Per micro-batch: a fixed send/receive cost of the 1F1B schedule on each stage (fitted), plus the transfer of
 * activations forward and their gradients backward at each of the VP chunk boundaries.
 */
function stageBoundarySeconds(input: ThroughputInput, k: ThroughputConstants): number {
  const { layout, fabric } = input;
  const tokens = layout.mbs * input.sequenceLength / layout.cp;
  const bytes = 2 * 2 * tokens * input.model.hiddenSize / layout.tp;
  // Stages are the outermost dimension: neighbours share a node only when a stage is smaller than a node.
  const span = layout.tp * layout.cp * layout.dp * 2;
  return k.stageBoundarySeconds + vpOf(layout) * bytes / bytesPerSecond(fabric, span);
}

/**
 * Reduce-scatter of gradients and all-gather of bf16 parameters (distributed optimizer) or an all-reduce of the
 * gradients, over DP·CP ranks; only the part longer than the overlap window of the last micro-batch shows.
 */
function exposedDataParallelSeconds(input: ThroughputInput, options: ResolvedTrainingOptions,
  k: ThroughputConstants, stageSeconds: number): number {
  const { layout, fabric } = input;
  const ranks = layout.dp * layout.cp;
  if (ranks === 1) return 0;
  const gradBytes = options.fp32GradientAccumulation ? 4 : 2;
  const perParam = options.distributedOptimizer ? gradBytes + 2 : 2 * gradBytes;
  const bytes = perParam * parametersOnMostLoadedGpu(input.model, layout, options) * (ranks - 1) / ranks;
  const groupSpan = layout.tp * layout.cp * layout.dp;
  // With r of the group's ranks in each node, only 1/r of a rank's traffic crosses the network (NCCL moves the
  // rest over NVLink), so the network looks r times faster per rank.
  const ranksPerNode = Math.max(1, fabric.gpusPerNode / (layout.tp * layout.cp));
  const bandwidth = groupSpan <= fabric.gpusPerNode ? bytesPerSecond(fabric, groupSpan)
    : bytesPerSecond(fabric, groupSpan) * ranksPerNode;
  return Math.max(0, bytes / (bandwidth * k.dpBandwidthFactor) - k.dpOverlap * stageSeconds);
}

/** Bandwidth per GPU, bytes/s, for a group of `span` consecutive ranks: NVLink inside a node, else the network. */
function bytesPerSecond(fabric: ClusterFabric, span: number): number {
  return span <= fabric.gpusPerNode ? fabric.gpu.intraNodeGBps * 1e9 : fabric.networkGbpsPerGpu * 1e9 / 8;
}
