import { PlannerInputError } from '../../lib/planner/errors';
import { SWALLOW_70B_DATA_MIXTURE, SWALLOW_70B_PLAN } from '../../lib/platform/profiles';
import { DataMixture, dataPathWords, planDataMixture, renderDataMixture } from '../../lib/training/data-mixture';
import { renderMegatronSbatch } from '../../lib/training/megatron-launch';

describe('the swallow-70b mixture', () => {
  const planned = planDataMixture(SWALLOW_70B_DATA_MIXTURE, SWALLOW_70B_PLAN.tokens);

  test('Swallow Corpus v2 makes about 210B of the 314B tokens; the planned tokens sum to the run', () => {
    expect(SWALLOW_70B_PLAN.tokens).toBe(314e9);
    expect(planned.find((p) => p.name === 'swallow-corpus-v2')?.plannedTokens).toBe(210e9);
    expect(planned.reduce((s, p) => s + p.plannedTokens, 0)).toBeCloseTo(314e9, -3);
    expect(planned.reduce((s, p) => s + p.weight, 0)).toBeCloseTo(1, 12);
    expect(planned.map((p) => p.name)).toEqual(['swallow-corpus-v2', 'ja-wikipedia', 'en-wikipedia', 'en-web', 'code', 'math']);
    expect(planned.filter((p) => p.note?.startsWith('illustrative')).map((p) => p.name))
      .toEqual(['ja-wikipedia', 'en-wikipedia', 'en-web', 'code', 'math']);
  });

  test('the launch script passes the weighted prefixes, whose weights times the run give the planned tokens', () => {
    const script = renderMegatronSbatch(SWALLOW_70B_PLAN, { dataMixture: SWALLOW_70B_DATA_MIXTURE });
    const blend = /DATA_BLEND=\(\n([\s\S]*?)\n\)/.exec(script)?.[1].trim().split(/\s+/) ?? [];
    expect(blend).toEqual(dataPathWords(planned, '/fsx/datasets'));
    expect(blend.slice(0, 2)).toEqual(['0.66879', '/fsx/datasets/swallow-corpus-v2/text_document']);
    const weights = blend.filter((_, i) => i % 2 === 0).map(Number);
    expect(weights.reduce((s, w) => s + w, 0) * SWALLOW_70B_PLAN.tokens).toBeCloseTo(314e9, -6);
  });

  test('prints tokens, share, size and epochs per source', () => {
    const table = renderDataMixture(planned).split('\n');
    expect(table[0]).toMatch(/^source\s+tokens\s+share\s+holds\s+epochs$/);
    expect(table[1]).toMatch(/^swallow-corpus-v2\s+210\.0B\s+66\.9%\s+210\.0B\s+1\.00\s+about 210B of the 314B$/);
    expect(table[2]).toMatch(/^ja-wikipedia\s+2\.6B\s+0\.8%\s+1\.3B\s+2\.00\s+illustrative/);
  });
});

describe('refused mixtures', () => {
  const a = { name: 'a', prefix: 'a/text_document', tokens: 100e9 };
  test.each([
    ['no source', { sources: [] }, /dataMixture.sources must name at least one source/],
    ['a weight of zero', { sources: [{ ...a, weight: 0 }] }, /dataMixture.sources\[0\].weight must be greater than 0, got 0 for a/],
    ['neither weight nor epochs', { sources: [a] }, /a must give exactly one of weight and epochs/],
    ['a source twice', { sources: [{ ...a, weight: 1 }, { ...a, weight: 1 }] }, /name a twice/],
    ['a weighted source read more than once', { sources: [{ ...a, weight: 1 }] },
      /a is weighted for 3\.140e\+11 tokens but holds 1\.000e\+11: give its epochs \(3\.14\) to repeat it/],
    ['epochs that do not fill the run', { sources: [{ ...a, epochs: 1 }] }, /the sources given in epochs make 1\.000e\+11 tokens, the run 3\.140e\+11/],
    ['epochs beyond the run', { sources: [{ ...a, epochs: 4 }, { ...a, name: 'b', weight: 1 }] }, /make 4\.000e\+11 tokens/],
    ['a prefix outside the datasets', { sources: [{ ...a, prefix: '../etc/passwd', weight: 1 }] }, /prefix must be a path relative to <fsx>\/datasets/],
  ] as Array<[string, DataMixture, RegExp]>)('%s', (_name, mixture, message) => {
    expect(() => planDataMixture(mixture, 314e9)).toThrow(PlannerInputError);
    expect(() => planDataMixture(mixture, 314e9)).toThrow(message);
  });

  test('epochs repeat a source', () => {
    const [p] = planDataMixture({ sources: [{ ...a, epochs: 3.14 }] }, 314e9);
    expect(p.epochs).toBeCloseTo(3.14, 12);
    expect(p.weight).toBeCloseTo(1, 12);
  });
});
