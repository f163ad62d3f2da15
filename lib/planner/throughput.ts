import { GpuArchitecture, GpuSpec, GpuType } from '../catalog/gpus';
import { GpuInstanceType } from '../catalog/hyperpod-instance-types';
import { PlannerInputError } from './errors';
import {
  flopsPerToken, layerAttentionFlopsPerToken, layerGemmFlopsPerToken, outputLayerFlopsPerToken,
} from './flops';
import { instanceGpu } from './instances';
import {
  ParallelLayout, pipelineSplit, Recomputation, recomputedShare, resolveOptions, ResolvedTrainingOptions, TrainingOptions, vpOf,
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

/** The constants of the model (see FITTED_THROUGHPUT_CONSTANTS; docs/planner.md gives each one's source or fit). */
export interface ThroughputConstants {
  /** Fraction of dense BF16 peak the GEMMs reach on Ampere GPUs. */
  readonly ampereEfficiency: number;
  /** Fraction of dense BF16 peak the GEMMs reach on Hopper GPUs. */
  readonly hopperEfficiency: number;
  /** Fraction of dense FP8 peak (2 × BF16) the GEMMs reach on Hopper with Transformer Engine FP8, casts included. */
  readonly fp8Efficiency: number;
  /**
   * Fraction of dense BF16 peak causal flash attention reaches on Ampere GPUs, counted on the FLOPs it does (half
   * of s²).
   */
  readonly ampereAttentionEfficiency: number;
  /** The same on Hopper GPUs (FlashAttention-2 uses no Hopper-specific instructions: a lower share of peak). */
  readonly hopperAttentionEfficiency: number;
  /** Fixed cost of one tensor-parallel collective (launch, synchronisation, small-message latency), seconds. */
  readonly tpLatencySeconds: number;
  /** Exposed tensor-parallel traffic, as a multiple of bytes / link bandwidth. */
  readonly tpBandwidthFactor: number;
  /**
   * Extra attention time of ring context parallelism on Ampere: attention × (1 + this × (1 − 1/CP)) (the chunks are
   * smaller kernels, and partial results are merged).
   */
  readonly ampereCpAttentionOverhead: number;
  /** The same on Hopper (another attention kernel: its own chunking cost). */
  readonly hopperCpAttentionOverhead: number;
  /** Latency of one pipeline send/receive (NCCL p2p set-up and synchronisation), seconds. */
  readonly p2pLatencySeconds: number;
  /** Achieved fraction of network bandwidth for the data-parallel reduce-scatter and all-gather. */
  readonly dpBandwidthFactor: number;
  /** Fraction of the last micro-batch's stage time that hides data-parallel traffic. */
  readonly dpOverlap: number;
}

/**
 * Fitted by test/planner/calibrate.ts on /work/shared/reference data only: Nelder–Mead on the mean squared log
 * error over the 122 measured layouts of the Llama-3.1-8B grid at sequence 8192 (A100 40GB on 8-GPU nodes with 4×
 * HDR200, H100 94GB on 4-GPU nodes with 4× NDR200, global batch 1024), within physical bounds, except
 * `hopperAttentionEfficiency`, fixed from FlashAttention-2's H100 figure (335 of 989 TFLOP/s, Dao 2023, arXiv
 * 2307.08691 §4.1): one sequence length cannot separate the GEMM and attention shares; `fp8Efficiency` alone
 * on the nine NeMo / Megatron-Bridge FP8 rows of throughput-reference.csv (the other constants held), with a
 * leave-one-out check. The 16384-token grid, Meta's Llama 3 405B BF16 rows and the Swallow 70B figure are not in
 * any fit and serve as checks (docs/planner.md).
 */
export const FITTED_THROUGHPUT_CONSTANTS: ThroughputConstants = {
  ampereEfficiency: 0.6753,
  hopperEfficiency: 0.6437,
  fp8Efficiency: 0.7431,
  ampereAttentionEfficiency: 0.5,
  hopperAttentionEfficiency: 0.339,
  tpLatencySeconds: 157.5e-6,
  tpBandwidthFactor: 0.3,
  ampereCpAttentionOverhead: 1,
  hopperCpAttentionOverhead: 0.5859,
  p2pLatencySeconds: 500e-6,
  dpBandwidthFactor: 0.343,
  dpOverlap: 1,
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
  if (options.fp8 && fabric.gpu.architecture !== GpuArchitecture.HOPPER) {
    throw new PlannerInputError('fp8', `needs a Hopper GPU (Transformer Engine FP8), got ${fabric.gpu.name}`);
  }
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
  const peak = gpu.denseBf16Tflops * 1e12;
  const gemmRate = options.fp8 ? 2 * peak * k.fp8Efficiency
    : peak * (gpu.architecture === GpuArchitecture.HOPPER ? k.hopperEfficiency : k.ampereEfficiency);
  const tokens = layout.mbs * input.sequenceLength / cp; // tokens of this GPU's sequence chunk
  const split = pipelineSplit(model.numLayers, pp);
  const chunkLayers = (split?.uneven ? split.middle : model.numLayers / pp) / vpOf(layout);
  // Recomputation repeats forward work: forward is one unit of three (backward two). Full recomputation repeats
  // the whole layer's forward pass (on `recomputeNumLayers` of a chunk's layers when given), selective only core
  // attention's.
  const recomputed = recomputedShare(options, chunkLayers);
  const forwardPasses = 1 + recomputed;
  const passScale = (forwardPasses + 2) / 3;
  const attentionScale = options.recomputation === Recomputation.SELECTIVE ? 4 / 3 : passScale;
  // Causal flash attention computes half of Megatron's non-causal count (the upper triangle is skipped).
  const attentionRate = peak * (gpu.architecture === GpuArchitecture.HOPPER
    ? k.hopperAttentionEfficiency : k.ampereAttentionEfficiency);
  const attentionCompute = layerAttentionFlopsPerToken(model, input.sequenceLength) / 2 * tokens / tp
    / attentionRate;
  const cpOverhead = gpu.architecture === GpuArchitecture.HOPPER ? k.hopperCpAttentionOverhead
    : k.ampereCpAttentionOverhead;
  const attention = attentionCompute * attentionScale * (1 + cpOverhead * (1 - 1 / cp));
  const gemm = layerGemmFlopsPerToken(model) * tokens / tp / gemmRate * passScale;
  const elementwise = elementwiseBytesPerToken(model) * tokens / tp / (gpu.memoryBandwidthTBps * 1e12) * passScale;
  const layerCompute = gemm + elementwise + attention;
  const layerCp = cp === 1 ? 0 : contextParallelSeconds(input, k, forwardPasses);
  const layerTp = tp === 1 ? 0 : tensorParallelSeconds(input, options, k, forwardPasses, gemm);
  const output = outputLayerFlopsPerToken(model) * tokens / tp / gemmRate;
  const perLayer = layerCompute + layerTp + layerCp;
  // The pipeline runs at the pace of its slowest stage. PP dividing the layers: the last (L/PP layers and the
  // output layer). Uneven: the first and last stages have fewer layers, so a middle stage with ⌈L/PP⌉ layers may
  // be the slowest; the lighter stages wait for it.
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
 * Tensor parallelism with sequence parallelism: per layer 2 all-gathers and 2 reduce-scatters forward (4 more with
 * recomputation) and 6 backward, each moving (TP − 1)/TP of the bf16 activations. With `tpCommOverlap` the
 * bandwidth part runs under the layer's GEMMs (Transformer Engine userbuffers) and only what exceeds them shows;
 * the fixed latency of each collective stays.
 */
function tensorParallelSeconds(input: ThroughputInput, options: ResolvedTrainingOptions, k: ThroughputConstants,
  forwardPasses: number, gemmSeconds: number): number {
  const { model, layout, fabric } = input;
  const tokens = layout.mbs * input.sequenceLength / layout.cp;
  const collectives = 4 * forwardPasses + 6;
  const transfer = collectives * k.tpBandwidthFactor * 2 * tokens * model.hiddenSize * (layout.tp - 1) / layout.tp
    / bytesPerSecond(fabric, layout.tp);
  const exposed = options.tpCommOverlap ? Math.max(0, transfer - gemmSeconds) : transfer;
  return collectives * k.tpLatencySeconds + exposed;
}

/**
 * Ring context parallelism: CP − 1 exchanges of this rank's K and V chunk (bf16, KV heads only, split by TP) per
 * forward pass, twice that backward (K, V and their gradients). Transformer Engine overlaps each exchange with the
 * previous chunk's attention, but the held-out 16384-token grid (CP across nodes ran at ~290 TFLOP/s) shows it
 * exposed: the model counts it in full. When the ring crosses a node, every ring step (CP − 1 per forward pass and
 * CP − 1 backward) also waits on a send/receive over the network, charged like the pipeline's: the p2p latency the
 * grid fits on stage boundaries between nodes.
 */
function contextParallelSeconds(input: ThroughputInput, k: ThroughputConstants, forwardPasses: number): number {
  const { model, layout, fabric } = input;
  const tokens = layout.mbs * input.sequenceLength / layout.cp;
  const kvBytes = 2 * 2 * tokens * model.hiddenSize * (model.numKvHeads / model.numAttentionHeads) / layout.tp;
  const span = layout.tp * layout.cp;
  const transfer = (forwardPasses + 2) * (layout.cp - 1) * kvBytes / bytesPerSecond(fabric, span);
  const networkSteps = insideNode(fabric, span) ? 0 : (forwardPasses + 1) * (layout.cp - 1);
  return transfer + networkSteps * k.p2pLatencySeconds;
}

/**
 * Per micro-batch, on each stage: the activations sent forward and their gradients sent back (bf16, the sequence
 * split over TP by sequence parallelism), at each of the VP chunk boundaries, at the bandwidth between neighbouring
 * stages, plus the p2p latency of each send/receive. Megatron's 1F1B schedule waits for them.
 */
function stageBoundarySeconds(input: ThroughputInput, k: ThroughputConstants): number {
  const { layout, fabric } = input;
  const tokens = layout.mbs * input.sequenceLength / layout.cp;
  const bytes = 2 * 2 * tokens * input.model.hiddenSize / layout.tp;
  // Stages are the outermost dimension: neighbours share a node only when a stage is smaller than a node.
  const span = layout.tp * layout.cp * layout.dp * 2;
  return vpOf(layout) * (2 * k.p2pLatencySeconds + bytes / bytesPerSecond(fabric, span));
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
  // Gradients are reduced in fp32 with fp32 accumulation unless --grad-reduce-in-bf16; parameters gathered in bf16.
  const gradBytes = options.fp32GradientAccumulation && !options.gradientReduceInBf16 ? 4 : 2;
  const perParam = options.distributedOptimizer ? gradBytes + 2 : 2 * gradBytes;
  const bytes = perParam * parametersOnMostLoadedGpu(input.model, layout, options) * (ranks - 1) / ranks;
  const groupSpan = layout.tp * layout.cp * layout.dp;
  // With r of the group's ranks in each node, only 1/r of a rank's traffic crosses the network (NCCL moves the
  // rest over NVLink), so the network looks r times faster per rank. The DP·CP group's ranks are TP apart
  // (Megatron's rank order tp-cp-dp-pp), so a node holds gpusPerNode / TP of them, its CP ranks included.
  const ranksPerNode = Math.min(ranks, Math.max(1, fabric.gpusPerNode / layout.tp));
  const bandwidth = insideNode(fabric, groupSpan) ? bytesPerSecond(fabric, groupSpan)
    : bytesPerSecond(fabric, groupSpan) * ranksPerNode;
  return Math.max(0, bytes / (bandwidth * k.dpBandwidthFactor) - k.dpOverlap * stageSeconds);
}

/**
 * Bandwidth per GPU, bytes/s, for a group of `span` consecutive ranks: NVLink when every such group sits inside one
 * node (span divides the node), else the network (a group larger than a node, or one that straddles two).
 */
function bytesPerSecond(fabric: ClusterFabric, span: number): number {
  return insideNode(fabric, span) ? fabric.gpu.intraNodeGBps * 1e9 : fabric.networkGbpsPerGpu * 1e9 / 8;
}

function insideNode(fabric: ClusterFabric, span: number): boolean {
  return span <= fabric.gpusPerNode && fabric.gpusPerNode % span === 0;
}
