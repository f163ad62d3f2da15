import * as path from 'path';
import * as ts from 'typescript';

const ROOT = path.join(__dirname, '..');

/**
 * Compiler options for a TypeScript program over the public API (lib/index.ts) and code written against it as
 * `cdk-hyperpod-training`: the checker-based tests of the API and of the docs' snippets.
 */
export const API_COMPILER_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10,
  strict: true, skipLibCheck: true, noEmit: true, esModuleInterop: true, types: ['node'],
  baseUrl: ROOT,
  paths: {
    'cdk-hyperpod-training': ['lib/index.ts'],
    // aws-cdk-lib's root re-exports every service module besides core: resolving it to core alone spares reading
    // all their declarations (the service modules import core by relative path, so the types are the same ones).
    'aws-cdk-lib': ['node_modules/aws-cdk-lib/core/index.d.ts'],
  },
};
