// aws-cdk-lib prints every annotation of a synth (the validation report) to console.error. The tests that
// expect a warning assert it through `Annotations.fromStack(…)`; the printed copy is only noise in a green
// run. Anything else written to console.error still reaches the console.
const printError = console.error.bind(console);
console.error = (...args: unknown[]) => {
  const text = args.map(String).join(' ');
  if (/^(WARNING|INFO) [\s\S]*\(Annotation\)/.test(text) && /A copy of this report can be found in/.test(text)) return;
  printError(...args);
};
