# shellcheck shell=bash
# Shared by the jobs that take a generated launch script (pretrain-<run>.sbatch) as their input: throughput-probe.sh,
# convert-hf-to-megatron.sbatch, export-megatron-to-hf.sbatch, tokenize.sbatch. Sourced from <fsx>/jobs
# ($JOBS_LIBRARY); sets nothing until called. JOB_TAG names the job in log lines.

log() { printf '%s [%s] %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${JOB_TAG:-job}" "$*"; }
# die MESSAGE [CODE]: exit CODE (default 2: bad input) with the message on stderr.
die() {
  log "ERROR: $1" >&2
  exit "${2:-2}"
}

# plan_value SCRIPT KEY: the launch script's "# plan.KEY=value" line (the first one); empty when there is none.
plan_value() {
  awk -v key="# plan.$2=" 'index($0, key) == 1 { print substr($0, length(key) + 1); exit }' "$1"
}

# require_launch_script PATH: PATH is a launch script this package generated, with the lines the jobs read.
require_launch_script() {
  [[ -f "$1" && -r "$1" ]] || die "launch script $1 not found: give the generated pretrain-<run>.sbatch (e.g. /fsx/jobs/pretrain-swallow-70b.sbatch)"
  [[ "$1" == /* ]] || die "give the launch script as an absolute path on the shared file system (the job runs on another node), got '$1'"
  grep -q '^# plan\.hf_loader_model_size=' "$1" ||
    die "$1 has no '# plan.hf_loader_model_size=' line: generate it again with this version (cdk-hyperpod-plan plan ... --emit-sbatch)"
}

# nodes_that_fit SCRIPT: the fewest nodes the plan predicts to fit in GPU memory, else the plan's node count.
nodes_that_fit() {
  local fewest
  fewest=$(awk '$2 == "plan.predicted" && / fits=yes/ { sub("nodes=", "", $3); print $3; exit }' "$1")
  printf '%s\n' "${fewest:-$(plan_value "$1" nodes)}"
}

# legacy_complete DIR TP PP: DIR holds a whole legacy (torch) Megatron checkpoint for TP×PP, the way
# megatron/training/checkpointing.py names it (get_checkpoint_name, core_v0.15.3 lines 136-175): the tracker
# latest_checkpointed_iteration.txt and iter_<7 digits>/mp_rank_<TP 2 digits>[_<PP 3 digits>]/model_optim_rng.pt for
# every rank. Prints the iteration. The converter writes the tracker with its first rank, so the tracker alone
# proves nothing.
legacy_complete() {
  local dir=$1 tp=$2 pp=$3 iteration t p rank
  [[ -f "$dir/latest_checkpointed_iteration.txt" ]] || return 1
  iteration=$(<"$dir/latest_checkpointed_iteration.txt")
  [[ "$iteration" =~ ^[0-9]+$ ]] || return 1
  for ((t = 0; t < tp; t++)); do
    for ((p = 0; p < pp; p++)); do
      if ((pp > 1)); then printf -v rank 'mp_rank_%02d_%03d' "$t" "$p"; else printf -v rank 'mp_rank_%02d' "$t"; fi
      [[ -s "$(printf '%s/iter_%07d' "$dir" "$((10#$iteration))")/$rank/model_optim_rng.pt" ]] || return 1
    done
  done
  printf '%s\n' "$((10#$iteration))"
}

# container_args IMAGE FSX: CONTAINER_ARGS for srun (pyxis) to run IMAGE with FSX mounted; none for an empty IMAGE
# (the host's Python and MEGATRON_DIR). A squashfs path must exist.
container_args() {
  # shellcheck disable=SC2034 # read by the caller
  CONTAINER_ARGS=()
  [[ -n "$1" ]] || return 0
  if [[ "$1" == /* && ! -f "$1" ]]; then
    die "CONTAINER_IMAGE=$1 not found: import the training image first: sbatch $2/jobs/import-training-image.sbatch <TrainingImageEnroot output>"
  fi
  # shellcheck disable=SC2034
  CONTAINER_ARGS=(--container-image="$1" --container-mounts="$2:$2")
}

# hf_model_complete DIR: DIR holds a Hugging Face model: config.json, a tokenizer, and weights.
hf_model_complete() {
  local weights=("$1"/*.safetensors "$1"/pytorch_model*.bin)
  [[ -f "$1/config.json" ]] || return 1
  [[ -f "$1/tokenizer.json" || -f "$1/tokenizer.model" ]] || return 1
  [[ -f "${weights[0]}" || -f "${weights[1]:-}" ]]
}
