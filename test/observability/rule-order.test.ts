import { Duration } from 'aws-cdk-lib';
import { renderAlertRules } from '../../lib/observability/alert-rules';
import { parseRuleGroups, recordedSeriesReadOutOfOrder, RuleGroup } from './rule-file';

/**
 * Amazon Managed Service for Prometheus user guide, "Using rules to modify or monitor metrics as they are received",
 * section "Rule order" (https://docs.aws.amazon.com/prometheus/latest/userguide/AMP-Ruler.html): the rules of one
 * rule group are evaluated in order, top to bottom, so a recording rule's result can be used by the rules after it
 * in the same group; the execution order of groups and files cannot be specified, so it cannot be used by a rule of
 * another group or file. A rule that broke this would read a value one evaluation old, or none, depending on which
 * group ran first: promtool's group_eval_order hides that, AMP does not.
 */

const RENDERED: Array<[string, string]> = [
  ['default', renderAlertRules()],
  ['non-default', renderAlertRules({ signalWindow: Duration.seconds(30), stragglerFor: Duration.minutes(1) })],
];

describe.each(RENDERED)('the rules rendered with %s settings', (_, rules) => {
  const groups = parseRuleGroups(rules);

  test('are read in full: every group and rule of the file', () => {
    expect(groups.map((g) => g.name)).toEqual([...rules.matchAll(/^ {2}- name: (\S+)$/gm)].map((m) => m[1]));
    expect(groups.flatMap((g) => g.rules.map((r) => r.name)))
      .toEqual([...rules.matchAll(/^ +- (?:alert|record): (\S+)$/gm)].map((m) => m[1]));
    expect(groups.flatMap((g) => g.rules).filter((r) => r.kind === 'record').length).toBeGreaterThan(10);
  });

  test('read every recorded series only below its recording rule, in the same group', () => {
    expect(recordedSeriesReadOutOfOrder(groups)).toEqual([]);
  });

  test('set no group interval: every group, records and alerts alike, runs at AMP\'s default of 60 s', () => {
    expect(groups.filter((g) => g.interval !== undefined)).toEqual([]);
  });
});

describe('the order check', () => {
  const defaults = parseRuleGroups(renderAlertRules());
  const moved = (from: string, rule: string, to: (groups: RuleGroup[], r: RuleGroup['rules'][number]) => RuleGroup[]): RuleGroup[] => {
    const taken = defaults.find((g) => g.name === from)!.rules.find((r) => r.name === rule)!;
    const without = defaults.map((g) => ({ ...g, rules: g.rules.filter((r) => r !== taken) }));
    return to(without, taken);
  };

  test('refuses an alert moved to a group of its own, away from the records it reads', () => {
    const groups = moved('training-job-signals', 'TrainingStalled', (gs, r) => [...gs, { name: 'training-stall', rules: [r] }]);
    expect(recordedSeriesReadOutOfOrder(groups)).toEqual([
      'TrainingStalled (group training-stall) reads node_job:gpu_util:avg, recorded in group training-job-signals',
      'TrainingStalled (group training-stall) reads job:gpu_util:best_quartile, recorded in group training-job-signals',
    ]);
  });

  test('refuses a recording rule moved below a rule that reads it', () => {
    const groups = moved('training-gpu-health', 'gpu:xid_errors:last',
      (gs, r) => gs.map((g) => (g.name === 'training-gpu-health' ? { ...g, rules: [...g.rules, r] } : g)));
    expect(recordedSeriesReadOutOfOrder(groups)).toEqual([
      'GpuXidError (group training-gpu-health) reads gpu:xid_errors:last, recorded further down its group',
      'GpuXidApplicationError (group training-gpu-health) reads gpu:xid_errors:last, recorded further down its group',
    ]);
  });

  test('finds a read in a {__name__} selector, a range or after offset, not in a comment or a longer name', () => {
    const groups = parseRuleGroups([
      'groups:',
      '  - name: a',
      '    rules:',
      '      - record: x:y',
      '        expr: up',
      '      - record: x:y:z',
      '        expr: x:y',
      '  - name: b',
      '    rules:',
      '      - alert: ByName',
      '        expr: count({__name__="x:y"})',
      '      - alert: ByRangeAndOffset',
      '        expr: |',
      '          max_over_time(x:y[5m] offset 1h)',
      '      - alert: CommentOnly',
      '        expr: |',
      '          up == 0',
      '          # not x:y',
      '      - alert: LongerName',
      '        expr: x:y_total > 0',
      '      - record: self',
      '        expr: self offset 1m',
      '',
    ].join('\n'));
    expect(recordedSeriesReadOutOfOrder(groups)).toEqual([
      'ByName (group b) reads x:y, recorded in group a',
      'ByRangeAndOffset (group b) reads x:y, recorded in group a',
      'self (group b) reads self, recorded by itself',
    ]);
  });

  test('refuses a rules file of another shape rather than read part of it', () => {
    expect(() => parseRuleGroups('groups:\n- name: flat\n  rules: []\n')).toThrow(/^rules file line 2: unexpected "- name: flat"$/);
    expect(() => parseRuleGroups('groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: >-\n          up\n'))
      .toThrow(/^rules file line 6: unexpected "          up"$/);
  });
});
