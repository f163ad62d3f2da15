#!/usr/bin/env bash
# Throughput probe: runs a generated Megatron-LM launch script (cdk-hyperpod-plan plan ... --emit-sbatch) for a few
# steps on a few nodes, loading and saving no checkpoint, and prints the measured step time, tokens/s and TFLOP/s
# per GPU next to the plan's prediction, with the --measured-tflops value to plan the long run with. Run it from the
# login node; it waits for the job.
#
#   /fsx/jobs/throughput-probe.sh /fsx/jobs/pretrain-swallow-70b.sbatch
#   /fsx/jobs/throughput-probe.sh -n 32 -i 40 /fsx/jobs/pretrain-swallow-70b.sbatch
#   /fsx/jobs/throughput-probe.sh --log probe-swallow-70b-16n-1234.out -n 16 /fsx/jobs/pretrain-swallow-70b.sbatch
#
# Options:
#   -n, --nodes N         nodes (default: the fewest the plan predicts to fit in GPU memory)
#   -i, --iters N         steps to run (default 30)
#   -w, --warmup N        first steps left out of the averages: start-up, compilation, data loader (default 10)
#   -p, --partition P     Slurm partition (default: the script's)
#   -t, --time MINUTES    time limit (default: twice the predicted run time plus 30 minutes)
#   --mock-data           synthetic tokens (Megatron --mock-data) instead of DATA_PATH
#   --log FILE            report on the output of a probe that already ran (with -n its node count); submit nothing
# The job gets this shell's environment (MEGATRON_DIR, CONTAINER_IMAGE, DATA_PATH, ...); its output goes to
# $PROBE_LOG_DIR (default: the current directory).
# Exit code: 0 report printed, 1 the probe failed or logged no step after the warm-up, 2 usage.
set -euo pipefail

# plan_value SCRIPT KEY and nodes_that_fit SCRIPT; its log and die give way to the probe's own below.
# shellcheck source=lib/cluster/lifecycle/jobs/job-library.sh
source "${JOBS_LIBRARY:-$(dirname "${BASH_SOURCE[0]}")/job-library.sh}"

usage() {
  sed -n '2,/^# Exit code/s/^# \{0,1\}//p' "$0" >&2
  exit 2
}

die() {
  echo "throughput-probe: $*" >&2
  exit 2
}

# count OPTION ARGS...: the option's argument, a positive integer (the warm-up may be 0).
count() {
  (($# >= 2)) || die "$1 needs a value"
  [[ "$2" =~ ^[1-9][0-9]*$ || ("$1" =~ ^(-w|--warmup)$ && "$2" == 0) ]] || die "$1 must be a positive integer, got '$2'"
  printf '%s\n' "$2"
}

# predicted NODES FIELD: a field of the script's "# plan.predicted nodes=NODES ..." line; empty when there is none.
predicted() {
  awk -v nodes="$1" -v field="$2" '
    $2 == "plan.predicted" && $3 == "nodes=" nodes {
      for (i = 3; i <= NF; i++) { split($i, kv, "="); if (kv[1] == field) print kv[2] }
      exit
    }' "$script"
}

# submit NODES ITERS PARTITION MINUTES MOCK: run the probe job and wait for it; prints the job's output file.
submit() {
  local nodes=$1 iters=$2 partition=$3 minutes=$4 mock=$5 run log_dir jobid status=0
  run=$(awk '/^#SBATCH --job-name=pretrain-/ { sub("^#SBATCH --job-name=pretrain-", ""); print; exit }' "$script")
  log_dir=${PROBE_LOG_DIR:-$PWD}
  local args=(--parsable --wait --nodes="$nodes" --no-requeue --job-name="probe-${run:-run}-${nodes}n"
    --output="$log_dir/%x-%j.out" --time="$minutes" --export="ALL,PROBE_ITERS=$iters,MOCK_DATA=$mock")
  [[ -z "$partition" ]] || args+=(--partition="$partition")
  jobid=$(sbatch "${args[@]}" "$script") || status=$?
  jobid=${jobid%%;*}
  [[ "$jobid" =~ ^[0-9]+$ ]] || die "sbatch did not submit the probe (exit $status)"
  ((status == 0)) || echo "throughput-probe: job $jobid ended with exit code $status" >&2
  printf '%s\n' "$log_dir/probe-${run:-run}-${nodes}n-$jobid.out"
}

# report LOG NODES WARMUP: the measured numbers against the plan's. Fails when no step after the warm-up was logged.
report() {
  local log=$1 nodes=$2 warmup=$3 stats
  [[ -f "$log" ]] || die "no probe output at $log"
  # Megatron logs one line per step: "iteration  12/ 37432 | ... | elapsed time per iteration (ms): 75010.3 |
  # throughput per GPU (TFLOP/s/GPU): 420.1 | ..." (newer releases: "compute per GPU (TFLOP/s/GPU)").
  stats=$(awk -v warmup="$warmup" '
    {
      if (!match($0, /iteration +[0-9]+ *\//)) next
      step = substr($0, RSTART, RLENGTH); gsub(/[^0-9]/, "", step)
      if (!match($0, /elapsed time per iteration \(ms\): *[0-9.]+/)) next
      ms = substr($0, RSTART, RLENGTH); sub(/.*: */, "", ms)
      logged++
      if (step + 0 <= warmup) next
      n++; sum += ms
      if (match($0, /per GPU \(TFLOP\/s\/GPU\): *[0-9.]+/)) {
        tf = substr($0, RSTART, RLENGTH); sub(/.*: */, "", tf); ntf++; sumtf += tf
      }
    }
    END { printf "%d %d %.6f %s\n", logged, n, (n ? sum / n : 0), (ntf ? sprintf("%.1f", sumtf / ntf) : "none") }
  ' "$log")
  local logged averaged mean_ms megatron_tflops
  read -r logged averaged mean_ms megatron_tflops <<<"$stats"
  if ((averaged == 0)); then
    echo "throughput-probe: FAILED: $log has $logged logged step(s), none after the $warmup warm-up steps. Its end:" >&2
    tail -n 20 "$log" >&2
    return 1
  fi
  awk -v nodes="$nodes" -v gpn="$(plan_value "$script" gpus_per_node)" -v gbs="$(plan_value "$script" global_batch_size)" \
    -v seq="$(plan_value "$script" sequence_length)" -v fpt="$(plan_value "$script" flops_per_token)" -v ms="$mean_ms" \
    -v n="$averaged" -v warmup="$warmup" -v logged="$logged" -v mtf="$megatron_tflops" \
    -v layout="$(plan_value "$script" layout)" -v model="$(plan_value "$script" model)" -v plan_nodes="$(plan_value "$script" nodes)" \
    -v plan_tflops="$(plan_value "$script" predicted_tflops_per_gpu)" -v command="$(plan_value "$script" command)" \
    -v p_tflops="$(predicted "$nodes" tflops_per_gpu)" -v p_tokens="$(predicted "$nodes" tokens_per_second_per_gpu)" \
    -v p_step="$(predicted "$nodes" step_seconds)" -v p_dp="$(predicted "$nodes" dp)" '
    function cell(v, d) { return v == "" ? "n/a" : sprintf("%." d "f", v) }
    function ratio(a, b) { return b == "" ? "" : sprintf("%.3f", a / b) }
    BEGIN {
      gpus = nodes * gpn; step = ms / 1000; tokens = gbs * seq / (step * gpus); tflops = tokens * fpt / 1e12
      printf "throughput probe: %s, plan %s; here %d nodes (%d GPUs%s); mean of steps %d-%d (%d steps)\n", model, layout, nodes, gpus, (p_dp == "" ? "" : ", DP " p_dp), warmup + 1, logged, n
      printf "  %-22s %10s %10s %10s\n", "", "measured", "predicted", "ratio"
      printf "  %-22s %10.2f %10s %10s\n", "step time (s)", step, cell(p_step, 2), ratio(step, p_step)
      printf "  %-22s %10.0f %10s %10s\n", "tokens/s per GPU", tokens, cell(p_tokens, 0), ratio(tokens, p_tokens)
      printf "  %-22s %10.1f %10s %10s\n", "TFLOP/s per GPU", tflops, cell(p_tflops, 1), ratio(tflops, p_tflops)
      printf "  %-22s %10s   (as Megatron logged it; the row above uses the planner'"'"'s FLOPs per token)\n", "Megatron TFLOP/s/GPU", mtf
      if (nodes == plan_nodes || p_tflops == "") {
        planned = tflops
        if (nodes != plan_nodes) printf "No prediction for %d nodes in the script: the value below is not scaled to the plan'"'"'s %d nodes.\n", nodes, plan_nodes
      } else {
        planned = plan_tflops * tflops / p_tflops
        printf "At the plan'"'"'s %d nodes the model predicts %.1f TFLOP/s per GPU; scaled by this measurement: %.1f.\n", plan_nodes, plan_tflops, planned
      }
      printf "Plan with the measurement:\n  %s --measured-tflops %.1f\n", command, planned
    }'
}

main() {
  local nodes="" iters=30 warmup=10 partition="" minutes="" mock=0 log="" script="" step estimate
  while (($# > 0)); do
    case "$1" in
      -n | --nodes)
        nodes=$(count "$@")
        shift 2
        ;;
      -i | --iters)
        iters=$(count "$@")
        shift 2
        ;;
      -w | --warmup)
        warmup=$(count "$@")
        shift 2
        ;;
      -t | --time)
        minutes=$(count "$@")
        shift 2
        ;;
      -p | --partition)
        (($# >= 2)) || die "$1 needs a value"
        partition=$2
        shift 2
        ;;
      --mock-data)
        mock=1
        shift
        ;;
      --log)
        (($# >= 2)) || die "$1 needs a value"
        log=$2
        shift 2
        ;;
      -h | --help) usage ;;
      -*) echo "throughput-probe: unknown option '$1'" >&2 && usage ;;
      *)
        [[ -z "$script" ]] || die "one launch script only, got '$script' and '$1'"
        script=$1
        shift
        ;;
    esac
  done
  [[ -n "$script" ]] || usage
  [[ -f "$script" ]] || die "no launch script at $script"
  [[ -n "$(plan_value "$script" model)" ]] ||
    die "$script has no '# plan.' lines: generate it with cdk-hyperpod-plan plan ... --emit-sbatch FILE"
  ((warmup < iters)) || die "--warmup ($warmup) must be below --iters ($iters)"
  nodes=${nodes:-$(nodes_that_fit "$script")}

  if [[ -z "$log" ]]; then
    step=$(predicted "$nodes" step_seconds)
    if [[ -z "$step" ]]; then
      echo "throughput-probe: WARNING: the plan has no prediction for $nodes nodes; the launch script checks the layout" >&2
    elif [[ "$(predicted "$nodes" fits)" == no ]]; then
      echo "throughput-probe: WARNING: the plan predicts this layout does not fit GPU memory on $nodes nodes" >&2
    fi
    estimate=$(awk -v s="${step:-$(plan_value "$script" step_seconds)}" -v i="$iters" 'BEGIN { printf "%d", s * i / 60 + 1 }')
    minutes=${minutes:-$((2 * estimate + 30))}
    echo "throughput-probe: $iters steps on $nodes nodes, about $estimate minutes of training after start-up" \
      "(time limit $minutes minutes)"
    log=$(submit "$nodes" "$iters" "$partition" "$minutes" "$mock")
    echo "throughput-probe: output in $log"
  fi
  report "$log" "$nodes" "$warmup"
}

main "$@"
