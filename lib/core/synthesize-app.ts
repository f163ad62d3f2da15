import { App, AppProps } from 'aws-cdk-lib';
import { ConfigurationError, configurationProblems } from './configuration-error';

/** What `synthesizeApp` does with the problems it finds. */
export interface SynthesizeAppOptions {
  /** Props of the app it creates (`autoSynth` is always off: the app is synthesized only when valid). */
  readonly appProps?: AppProps;
  /**
   * Where each problem line goes.
   * @default - standard error
   */
  readonly report?: (line: string) => void;
}

/**
 * Builds an app with `build` and synthesizes it, unless its configuration is wrong: then every problem is printed
 * as one line (`Path/To/Construct: field must be …, got …`), no template is written, no stack trace is shown, and
 * the process exits with status 1. Use it in your `bin/` file so `cdk synth` reads like a list of mistakes.
 * Returns the app when it was synthesized.
 */
export function synthesizeApp(build: (app: App) => void, options: SynthesizeAppOptions = {}): App | undefined {
  const report = options.report ?? ((line: string) => process.stderr.write(`${line}\n`));
  const app = new App({ ...options.appProps, autoSynth: false });
  let problems: string[];
  try {
    build(app);
    problems = configurationProblems(app);
    if (problems.length === 0) {
      app.synth();
      return app;
    }
  } catch (error) {
    // The constructs built before the one that threw may have recorded problems of their own: list those too.
    const recorded = recordedProblems(app);
    const thrown = problemsOf(error);
    if (thrown === undefined) {
      recorded.forEach(report);
      throw error;
    }
    problems = [...new Set([...recorded, ...thrown])];
  }
  problems.forEach(report);
  process.exitCode = 1;
  return undefined;
}

/** The problems recorded on a tree whose construction was cut short; a half-built construct may fail to validate. */
function recordedProblems(app: App): string[] {
  try {
    return configurationProblems(app);
  } catch {
    return [];
  }
}

/** The problem lines a thrown error stands for; undefined for anything else than a configuration error. */
function problemsOf(error: unknown): string[] | undefined {
  // By name too: an app may load a second copy of this package (a linked checkout), whose class is another.
  if (error instanceof ConfigurationError || (error instanceof Error && /^(Configuration|PlannerInput)Error$/.test(error.name))) {
    return error.message.split('\n');
  }
  const message = error instanceof Error ? error.message : '';
  const header = 'Validation failed with the following errors:';
  if (message.startsWith(header)) {
    return message.slice(header.length).split('\n').map((line) => line.trim()).filter(Boolean);
  }
  return undefined;
}
