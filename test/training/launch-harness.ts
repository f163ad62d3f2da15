import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/*
 * Runs a generated launch script as Slurm would, in a sandbox: the Slurm and Lustre stubs of the lifecycle tests on
 * PATH, the launch library from the source tree, and a `python` that records the arguments pretrain_gpt.py gets.
 */

const REPO = path.join(__dirname, '..', '..');
const STUBS = path.join(REPO, 'test', 'cluster', 'lifecycle', 'stubs');
export const LAUNCH_LIBRARY = path.join(REPO, 'lib', 'cluster', 'lifecycle', 'jobs', 'megatron-launch.sh');

export interface LaunchRun {
  /** The arguments pretrain_gpt.py received. */
  readonly args: string[];
  readonly output: string;
  readonly status: number;
}

/**
 * Runs SCRIPT; PREPARE gets the sandbox's file system root (for /fsx) and returns more environment. Writes the
 * sandbox's inputs (Megatron, tokenizer, datasets of the script's blend, base checkpoint). */
export function runLaunch(script: string, prepare: (fsx: string) => Record<string, string> = () => ({})): LaunchRun {
  const sandbox = fs.mkdtempSync(path.join(os.tmpdir(), 'launch-'));
  try {
    const bin = path.join(sandbox, 'bin');
    fs.mkdirSync(bin);
    for (const stub of ['_stub.bash', 'srun', 'scontrol', 'squeue', 'hostname', 'lfs']) {
      fs.symlinkSync(path.join(STUBS, stub), path.join(bin, stub));
    }
    const argsFile = path.join(sandbox, 'args');
    fs.writeFileSync(path.join(bin, 'python'),
      `#!/usr/bin/env bash\nshift\nprintf '%s\\0' "$@" >"${argsFile}"\necho "NCCL INFO Using network Libfabric"\n`, { mode: 0o755 });
    const fsx = path.join(sandbox, 'fsx');
    const scriptFile = path.join(sandbox, 'job.sbatch');
    // The script's /fsx paths point into the sandbox.
    fs.writeFileSync(scriptFile, script.replace(/\/fsx\b/g, fsx));
    const megatron = path.join(sandbox, 'megatron');
    fs.mkdirSync(megatron);
    fs.writeFileSync(path.join(megatron, 'pretrain_gpt.py'), '');
    for (const prefix of script.replace(/\/fsx\b/g, fsx).match(new RegExp(`${fsx}/datasets/[^\\s)]+`, 'g')) ?? []) {
      fs.mkdirSync(path.dirname(prefix), { recursive: true });
      fs.writeFileSync(`${prefix}.bin`, '');
      fs.writeFileSync(`${prefix}.idx`, '');
    }
    fs.mkdirSync(fsx, { recursive: true });
    const env = prepare(fsx);
    const result = (() => {
      try {
        const out = execFileSync('bash', [scriptFile], {
          cwd: sandbox, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
          env: {
            PATH: `${bin}:${process.env.PATH}`, STUB_STATE: sandbox, STUB_CALLS: path.join(sandbox, 'calls.log'),
            LAUNCH_LIBRARY, MEGATRON_DIR: megatron, CONTAINER_IMAGE: '', TOKENIZER_MODEL: sandbox,
            NCCL_ENV_FILE: path.join(sandbox, 'none'), SLURM_JOB_ID: '4242', SLURM_JOB_NUM_NODES: '32',
            KEEP_CHECKPOINTS: '0', ...env,
          },
        });
        return { output: out, status: 0 };
      } catch (e) {
        const err = e as { status: number; stdout: string; stderr: string };
        return { output: `${err.stdout}${err.stderr}`, status: err.status };
      }
    })();
    const args = fs.existsSync(argsFile) ? fs.readFileSync(argsFile, 'utf8').split('\0').slice(0, -1) : [];
    return { args, ...result };
  } finally {
    fs.rmSync(sandbox, { recursive: true, force: true });
  }
}

/** The flags (words starting with `--`) of an argument list. */
export function flagsOf(args: readonly string[]): string[] {
  return [...new Set(args.filter((a) => a.startsWith('--')))];
}
