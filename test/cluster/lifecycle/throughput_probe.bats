#!/usr/bin/env bats
# jobs/throughput-probe.sh: submits a generated launch script as a short job (sbatch stubbed) and reports measured
# against predicted speed from Megatron's log.

load test_helper
load jobs_helper

# The layout is pinned to the one the 16-node log fixture ran (TP8 PP2 VP4), not left to the search.
setup_file() {
  export SCRIPT="$BATS_FILE_TMPDIR/pretrain-swallow-70b.sbatch"
  cd "$BATS_TEST_DIRNAME/../../.." || return 1
  npx --no-install tsx lib/planner-cli/cli-main.ts plan --model llama-3.3-70b --instance ml.p5.48xlarge --nodes 32 \
    --tokens 314e9 --seq 8192 --gbs 1024 --checkpoint-interval-min 5 --tp 8 --pp 2 --cp 1 --vp 4 --mbs 1 --emit-sbatch "$SCRIPT" >/dev/null
}

setup() {
  setup_jobs
  export PROBE_LOG_DIR="$SANDBOX/logs" STUB_SBATCH_LOG="$FIXTURES/megatron-probe-16n.log"
  mkdir -p "$PROBE_LOG_DIR"
}

probe() {
  run bash "$JOBS/throughput-probe.sh" "$@"
}

# predicted NODES FIELD: the launch script's prediction.
predicted() {
  sed -n "s/^# plan.predicted nodes=$1 .*$2=\([^ ]*\).*/\1/p" "$SCRIPT"
}

@test "reports step time, tokens/s and TFLOP/s per GPU against the prediction for the node count, and the value to plan with" {
  probe --log "$FIXTURES/megatron-probe-16n.log" -n 16 "$SCRIPT"
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == "throughput probe: llama-3.3-70b, plan TP8 PP2 CP1 DP16 mbs1 vp4; here 16 nodes (128 GPUs, DP 8); mean of steps 11-30 (20 steps)" ]]
  # 1024 sequences of 8192 tokens in 75.0 s on 128 GPUs: 873.8 tokens/s per GPU, x 4.814e11 FLOPs per token.
  [[ "$output" =~ "step time (s)"\ +75.00\ +$(predicted 16 step_seconds) ]]
  [[ "$output" =~ "tokens/s per GPU"\ +874\ +$(predicted 16 tokens_per_second_per_gpu) ]]
  [[ "$output" =~ "TFLOP/s per GPU"\ +420.7\ +$(predicted 16 tflops_per_gpu) ]]
  [[ "$output" =~ "Megatron TFLOP/s/GPU"\ +420.7 ]]
  local scaled
  scaled=$(awk -v p16="$(predicted 16 tflops_per_gpu)" -v p32="$(predicted 32 tflops_per_gpu)" \
    'BEGIN { printf "%.1f", p32 * (1024 * 8192 / 75 / 128 * 481434796032 / 1e12) / p16 }')
  [[ "$output" == *"At the plan's 32 nodes the model predicts $(predicted 32 tflops_per_gpu) TFLOP/s per GPU; scaled by this measurement: $scaled."* ]]
  [ "${lines[-1]}" = "  cdk-hyperpod-plan plan --model llama-3.3-70b --instance ml.p5.48xlarge --nodes 32 --tokens 3.14e11 --seq 8192 --gbs 1024 --checkpoint-interval-min 5 --tp 8 --pp 2 --cp 1 --vp 4 --mbs 1 --measured-tflops $scaled" ]
}

@test "at the plan's node count the measurement is the value to plan with" {
  # The 16-node log read as a 32-node run: the same step time over twice the GPUs.
  probe --log "$FIXTURES/megatron-probe-16n.log" -n 32 "$SCRIPT"
  [ "$status" -eq 0 ]
  [[ "$output" != *"scaled by this measurement"* ]]
  [[ "${lines[-1]}" == *" --measured-tflops 210.3" ]]
}

@test "submits the script as a short job on the fewest nodes predicted to fit, waits, and reports" {
  probe "$SCRIPT"
  [ "$status" -eq 0 ]
  local sbatch
  sbatch=$(calls sbatch)
  [[ "$sbatch" == "sbatch --parsable --wait --nodes=16 --no-requeue --job-name=probe-llama-3.3-70b-16n --output=$PROBE_LOG_DIR/%x-%j.out --time="*" --export=ALL,PROBE_ITERS=30,MOCK_DATA=0 $SCRIPT" ]]
  # 30 steps at the plan's step time on 16 nodes, in minutes rounded down, plus one.
  local minutes
  minutes=$(awk -v s="$(predicted 16 step_seconds)" 'BEGIN { printf "%d", int(30 * s / 60) + 1 }')
  [ "$minutes" -ge 30 ]
  [[ "$output" == *"throughput-probe: 30 steps on 16 nodes, about $minutes minutes of training after start-up"* ]]
  [[ "$output" == *"output in $PROBE_LOG_DIR/probe-llama-3.3-70b-16n-1234.out"* ]]
  [ -f "$PROBE_LOG_DIR/probe-llama-3.3-70b-16n-1234.out" ]
  [[ "$output" == *"Plan with the measurement:"* ]]
}

@test "options: nodes, steps, warm-up, partition, time limit and synthetic data" {
  probe -n 16 -i 40 -w 5 -p gpu -t 90 --mock-data "$SCRIPT"
  [ "$status" -eq 0 ]
  [[ "$(calls sbatch)" == *" --time=90 --export=ALL,PROBE_ITERS=40,MOCK_DATA=1 --partition=gpu $SCRIPT" ]]
  [[ "$output" == *"mean of steps 6-30 (25 steps)"* ]]
}

@test "warns when the plan predicts the layout does not fit, or has no prediction for the node count" {
  probe -n 8 "$SCRIPT"
  [[ "$output" == *"WARNING: the plan predicts this layout does not fit GPU memory on 8 nodes"* ]]
  probe -n 3 "$SCRIPT"
  [[ "$output" == *"WARNING: the plan has no prediction for 3 nodes"* ]]
}

@test "fails with the end of the log when no step after the warm-up was logged" {
  head -n 12 "$FIXTURES/megatron-probe-16n.log" >"$SANDBOX/short.log"
  echo "torch.OutOfMemoryError: CUDA out of memory." >>"$SANDBOX/short.log"
  STUB_SBATCH_LOG="$SANDBOX/short.log" STUB_SBATCH_EXIT=1 probe -n 16 "$SCRIPT"
  [ "$status" -eq 1 ]
  [[ "$output" == *"job 1234 ended with exit code 1"* ]]
  [[ "$output" == *"FAILED: $PROBE_LOG_DIR/probe-llama-3.3-70b-16n-1234.out has 7 logged step(s), none after the 10 warm-up steps"* ]]
  [[ "${lines[-1]}" == "torch.OutOfMemoryError: CUDA out of memory." ]]
}

@test "usage errors exit 2" {
  probe
  [ "$status" -eq 2 ]
  printf '#!/usr/bin/env bash\n#SBATCH -N 2\n' >"$SANDBOX/plain.sbatch"
  probe "$SANDBOX/plain.sbatch"
  [ "$status" -eq 2 ]
  [[ "$output" == *"has no '# plan.' lines: generate it with cdk-hyperpod-plan plan ... --emit-sbatch FILE"* ]]
  probe -i 10 -w 10 "$SCRIPT"
  [ "$status" -eq 2 ]
  [[ "$output" == *"--warmup (10) must be below --iters (10)"* ]]
  probe -n two "$SCRIPT"
  [ "$status" -eq 2 ]
  [[ "$output" == *"-n must be a positive integer, got 'two'"* ]]
  [ -z "$(calls sbatch)" ]
}

@test "docs/jobs.md shows what the probe prints for the profile's plan and the fixture log, line for line" {
  local plan="$BATS_TEST_TMPDIR/pretrain-profile.sbatch" docs="$BATS_TEST_DIRNAME/../../../docs/jobs.md"
  (cd "$BATS_TEST_DIRNAME/../../.." && npx --no-install tsx lib/planner-cli/cli-main.ts plan --model llama-3.3-70b \
    --instance ml.p5.48xlarge --nodes 32 --tokens 314e9 --seq 8192 --gbs 1024 --checkpoint-interval-min 60 \
    --emit-sbatch "$plan" >/dev/null)
  probe --log "$FIXTURES/megatron-probe-16n.log" -n 16 "$plan"
  [ "$status" -eq 0 ]
  # The block after "and prints:" in the docs.
  diff <(awk '/and prints:$/ { getline; on = 1; next } on && /^```$/ { exit } on' "$docs") <(printf '%s\n' "$output")
}
