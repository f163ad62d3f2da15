#!/usr/bin/env bats
# steps/10-wait-network.sh: default route and DNS, with bounded backoff.

load test_helper

setup() {
  setup_node
}

@test "passes at once when the route exists and the FSx DNS name resolves" {
  run_step 10-wait-network
  [ "$status" -eq 0 ]
  [ "$(calls getent)" = "getent hosts fs-123.fsx.us-east-1.amazonaws.com" ]
  [ -z "$(calls sleep)" ]
  [[ "$output" == *"fs-123.fsx.us-east-1.amazonaws.com resolves"* ]]
}

@test "waits with backoff until DNS answers" {
  STUB_DNS_AFTER=4 run_step 10-wait-network
  [ "$status" -eq 0 ]
  [ "$(calls getent | wc -l)" -eq 4 ]
  [ "$(calls sleep)" = "$(printf 'sleep %s\n' 2 4 8)" ]
}

@test "fails after the configured attempts, naming the DNS name" {
  STUB_DNS_AFTER=never PROVISION_NETWORK_ATTEMPTS=3 run_step 10-wait-network
  [ "$status" -eq 1 ]
  [ "$(calls getent | wc -l)" -eq 3 ]
  [[ "$output" == *"[ERROR] [10-wait-network] DNS name fs-123.fsx.us-east-1.amazonaws.com does not resolve after 3 attempts"* ]]
}

@test "fails when there is never a default route" {
  STUB_ROUTE_AFTER=never PROVISION_NETWORK_ATTEMPTS=2 PROVISION_NETWORK_DELAY=1 run_step 10-wait-network
  [ "$status" -eq 1 ]
  [ "$(calls sleep)" = "sleep 1" ]
  [[ "$output" == *"no default route after 2 attempts"* ]]
  [ -z "$(calls getent)" ]
}

@test "without FSx it checks that the regional STS endpoint resolves" {
  set_setting fsx null
  run_step 10-wait-network
  [ "$status" -eq 0 ]
  [ "$(calls getent)" = "getent hosts sts.us-east-1.amazonaws.com" ]
}
