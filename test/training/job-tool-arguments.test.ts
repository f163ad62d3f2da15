import * as fs from 'fs';
import * as path from 'path';

/*
 * The conversion, export and tokenization jobs call Megatron-LM's tools (tools/checkpoint/convert.py with its loader
 * and saver plugins, tools/preprocess_data.py, tools/merge_datasets.py). argparse with allow_abbrev=False stops at an
 * unknown flag, so every flag the jobs pass must be one the pinned release's tool (or the saver shipped beside the
 * jobs) declares: the fixture lists them from core_v0.15.3's sources.
 */

const JOBS = path.join(__dirname, '..', '..', 'lib', 'cluster', 'lifecycle', 'jobs');
const FIXTURE = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'megatron-tool-arguments.json'), 'utf8')) as {
  tools: Record<string, string[]>;
};

/** The flags saver_llama_hf.py adds to convert.py's parser. */
function shippedSaverFlags(): string[] {
  const source = fs.readFileSync(path.join(JOBS, 'saver_llama_hf.py'), 'utf8');
  return [...source.matchAll(/add_argument\('(--[a-z0-9-]+)'/g)].map((m) => m[1]);
}

interface ToolCall {
  readonly tool: string;
  readonly words: string[];
}

/** Each tool call of a job script: the words after the tool's name, continuation lines joined. */
function toolCalls(file: string): ToolCall[] {
  const text = fs.readFileSync(path.join(JOBS, file), 'utf8').replace(/\\\n\s*/g, ' ');
  const calls: ToolCall[] = [];
  for (const line of text.split('\n')) {
    const match = /("\$MEGATRON_DIR\/tools\/checkpoint\/convert\.py"|^\s*megatron_tool (preprocess_data\.py|merge_datasets\.py))\s(.*)$/
      .exec(line);
    if (!match) continue;
    const tool = match[2] ?? 'convert.py';
    calls.push({ tool, words: match[3].split(/\s+/).filter((w) => w.length > 0) });
  }
  return calls;
}

function flags(words: string[]): string[] {
  return words.filter((w) => /^--[a-z0-9-]+$/.test(w));
}

function after(words: string[], flag: string): string {
  return words[words.indexOf(flag) + 1];
}

/** What argparse accepts for one call: the tool's flags, and for convert.py those of the loader and saver named. */
function accepted(call: ToolCall): Set<string> {
  const t = FIXTURE.tools;
  if (call.tool === 'preprocess_data.py') {
    return new Set([...t['tools/preprocess_data.py'], ...t['megatron/training/arguments.py _add_tokenizer_args']]);
  }
  if (call.tool === 'merge_datasets.py') return new Set(t['tools/merge_datasets.py']);
  const plugin = (kind: string, name: string): string[] => {
    if (kind === 'saver' && name === 'llama_hf') return shippedSaverFlags();
    const flagsOf = t[`tools/checkpoint/${kind}_${name}.py`];
    if (!flagsOf) throw new Error(`no ${kind} ${name} in the fixture`);
    return flagsOf;
  };
  return new Set([...t['tools/checkpoint/convert.py'], ...plugin('loader', after(call.words, '--loader')),
    ...plugin('saver', after(call.words, '--saver'))]);
}

describe('the jobs call Megatron-LM core_v0.15.3\'s tools with flags they declare', () => {
  const scripts = ['convert-hf-to-megatron.sbatch', 'export-megatron-to-hf.sbatch', 'tokenize.sbatch'];

  test.each(scripts)('%s', (script) => {
    const calls = toolCalls(script);
    expect(calls.length).toBeGreaterThan(0);
    for (const call of calls) {
      const allowed = accepted(call);
      expect([call.tool, flags(call.words).filter((f) => !allowed.has(f))]).toEqual([call.tool, []]);
    }
  });

  test('the calls found: convert.py HF → core, core → llama_hf; preprocess_data.py; merge_datasets.py', () => {
    const found = scripts.flatMap((s) => toolCalls(s).map((c) => c.tool === 'convert.py'
      ? `convert.py ${after(c.words, '--loader')} → ${after(c.words, '--saver')}` : c.tool));
    expect(found).toEqual(['convert.py llama_mistral → core', 'convert.py core → llama_hf', 'preprocess_data.py',
      'merge_datasets.py']);
  });

  test('the tokenizer is Hugging Face\'s and the converter reads Hugging Face checkpoints', () => {
    const [tokenize] = toolCalls('tokenize.sbatch');
    expect(after(tokenize.words, '--tokenizer-type')).toBe('HuggingFaceTokenizer');
    const [convert] = toolCalls('convert-hf-to-megatron.sbatch');
    expect(after(convert.words, '--checkpoint-type')).toBe('hf');
    expect(after(convert.words, '--saver-transformer-impl')).toBe('transformer_engine');
  });

  test('an unknown flag is caught', () => {
    const call: ToolCall = { tool: 'preprocess_data.py', words: ['--input', 'x', '--tokenizer', 'y'] };
    const allowed = accepted(call);
    expect(flags(call.words).filter((f) => !allowed.has(f))).toEqual(['--tokenizer']);
  });
});
