#!/usr/bin/env bash
# Let jobs read the experiment-tracking key (e.g. WANDB_API_KEY) without storing it on the node:
# installs experiment-tracking-env, which fetches the key from Secrets Manager when a job starts
# (eval it in a job script, or use it as the Slurm TaskProlog). Only the secret's ARN is written here.
# node-types: Login Compute
# class: optional
set -euo pipefail

# shellcheck source-path=SCRIPTDIR/.. source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

main() {
  local conf="$ETC_DIR/hyperpod/experiment-tracking.conf" arn name region error
  arn=$(settings_get experimentTracking.secretArn "")
  if [[ -z "$arn" ]]; then
    log INFO "experimentTracking is not configured"
    if [[ -f "$conf" ]]; then
      rm -f "$conf"
      log INFO "removed $conf left by an earlier configuration"
    fi
    return 0
  fi
  name=$(settings_get experimentTracking.envVar)
  [[ "$name" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] ||
    die "experimentTracking.envVar '$name' is not an environment variable name"
  [[ "$arn" =~ ^arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):[0-9]{12}:secret:.+$ ]] ||
    die "experimentTracking.secretArn is not a Secrets Manager secret ARN: $arn"
  region=${BASH_REMATCH[1]}
  install_file "$LIFECYCLE_DIR/bin/experiment-tracking-env" "$BIN_DIR/experiment-tracking-env" 0755
  install_content "$conf" 0644 <<CONF
SECRET_ARN=$arn
ENV_VAR=$name
REGION=$region
CONF
  # The same call jobs make, but printing only the ARN: the key never reaches this log.
  if error=$(aws secretsmanager get-secret-value --secret-id "$arn" --region "$region" \
    --query ARN --output text 2>&1 >/dev/null); then
    log INFO "the instance role can read $arn; jobs get $name from experiment-tracking-env"
  else
    log WARN "the instance role cannot read $arn yet ($error); jobs will not get $name until it can"
  fi
}

main "$@"
