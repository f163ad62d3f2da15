#!/usr/bin/env node
// `npm test`: every check the project has, run side by side, quiet when green.
//
// The parts are independent, so they run at the same time (on a 2-core machine the wall time is about the CPU
// time over two). A part that passes prints its runner's summary line; a part that fails prints everything it
// wrote. At the end: the wall time of each part, and of jest by test folder, slowest first.
// `npm test -- jest` (or typecheck, lint, lifecycle) runs only the parts named.
'use strict';
const { execFileSync, spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const ROOT = path.join(__dirname, '..', '..');
const JEST_REPORT = path.join(os.tmpdir(), `cdk-hyperpod-jest-${process.pid}.json`);
const BATS_JOBS = hasCommand('parallel') ? ['--jobs', String(os.cpus().length)] : [];
const ENV = { ...process.env, FORCE_COLOR: '0', PATH: withDirectPython(process.env.PATH || '') };

const PARTS = [
  { name: 'jest', command: ['npx', 'jest', '--json', `--outputFile=${JEST_REPORT}`], summary: jestSummary },
  { name: 'typecheck', command: ['npm', 'run', '-s', 'typecheck'], summary: () => '' },
  { name: 'lint', command: ['npx', 'eslint', '.'], summary: () => '' },
  { name: 'lifecycle', command: ['bash', '-c', `npm run -s lint:lifecycle && bats ${BATS_JOBS.join(' ')} test/cluster/lifecycle test/tools`], summary: tapSummary },
];

/** Jest's own summary lines ("Tests: 749 passed, 749 total", …). */
function jestSummary(output) {
  return output.split('\n').map((l) => l.trim()).filter((l) => /^(Tests|Test Suites|Snapshots):/.test(l)).join('; ');
}

/** bats writes TAP when its output is not a terminal: count the results. */
function tapSummary(output) {
  const passed = output.split('\n').filter((l) => /^ok \d+ /.test(l)).length;
  const failed = output.split('\n').filter((l) => /^not ok \d+ /.test(l)).length;
  return `bats ${passed + failed} tests, ${failed} failures (shellcheck clean)`;
}

function hasCommand(name) {
  return (process.env.PATH || '').split(path.delimiter).some((dir) => {
    try { fs.accessSync(path.join(dir, name), fs.constants.X_OK); return true; } catch { return false; }
  });
}

/**
 * PATH with the directory of the interpreter `python3` runs put first. Version managers (pyenv here) answer
 * `python3` with a shell shim that spawns a dozen processes, ~70 ms a call; the scripts under test call python3
 * hundreds of times. The interpreter is the same one the shim would pick.
 */
function withDirectPython(envPath) {
  try {
    const exe = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
    return exe ? [path.dirname(exe), envPath].join(path.delimiter) : envPath;
  } catch {
    return envPath; // no python3: the tests that need it fail and say so
  }
}

function runPart(part) {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(part.command[0], part.command.slice(1), { cwd: ROOT, env: ENV });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    child.on('close', (code, signal) => resolve({ part, code: code ?? 1, signal, output, seconds: (Date.now() - started) / 1000 }));
  });
}

function report(result) {
  const { part, code, output, seconds } = result;
  if (code === 0) {
    const summary = part.summary(output);
    console.log(`ok   ${part.name} (${seconds.toFixed(1)} s)${summary ? `: ${summary}` : ''}`);
  } else {
    console.log(`FAIL ${part.name} (${seconds.toFixed(1)} s, exit ${code}${result.signal ? `, ${result.signal}` : ''})`);
    console.log(output.trimEnd().split('\n').map((l) => `  ${l}`).join('\n'));
  }
}

/** Jest's own per-file times, summed by the folder under test/ (planner, platform, package, …). */
function jestBreakdown() {
  if (!fs.existsSync(JEST_REPORT)) return [];
  const results = JSON.parse(fs.readFileSync(JEST_REPORT, 'utf8')).testResults;
  fs.rmSync(JEST_REPORT, { force: true });
  const byFolder = new Map();
  for (const r of results) {
    const folder = path.relative(path.join(ROOT, 'test'), r.name).split(path.sep)[0];
    byFolder.set(folder, (byFolder.get(folder) ?? 0) + (r.endTime - r.startTime) / 1000);
  }
  return [...byFolder].sort((a, b) => b[1] - a[1]);
}

async function main() {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((w) => !PARTS.some((p) => p.name === w));
  if (unknown.length) {
    console.error(`npm test: unknown part ${unknown.join(', ')}; parts are ${PARTS.map((p) => p.name).join(', ')}`);
    process.exit(2);
  }
  const started = Date.now();
  const parts = wanted.length ? PARTS.filter((p) => wanted.includes(p.name)) : PARTS;
  const results = await Promise.all(parts.map((p) => runPart(p).then((r) => { report(r); return r; })));
  const failed = results.filter((r) => r.code !== 0);
  const breakdown = jestBreakdown();
  console.log(`\nnpm test: ${((Date.now() - started) / 1000).toFixed(1)} s wall; `
    + results.map((r) => `${r.part.name} ${r.seconds.toFixed(1)} s`).join(', '));
  if (breakdown.length) {
    console.log(`jest by folder (per-file time, summed): ${breakdown.map(([f, s]) => `${f} ${s.toFixed(1)} s`).join(', ')}`);
  }
  if (failed.length) {
    console.log(`failed: ${failed.map((r) => r.part.name).join(', ')}`);
    process.exit(1);
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
