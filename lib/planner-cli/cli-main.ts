#!/usr/bin/env node
import { runCommand } from './cli';

// exitCode rather than process.exit(): exiting at once can cut off output still being written to a pipe.
void runCommand(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
}).then((code) => { process.exitCode = code; });
