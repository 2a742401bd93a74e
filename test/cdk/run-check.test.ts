import { describe, expect, it } from 'vitest';
import { localTimePlus } from '../../lib/run-check.ts';
import { actionsOf, logicalId, roleStatements, synth, testConfig } from './synth.ts';

const { stack, template } = synth();

/** The schedules that invoke the run check, as [expression, input]. */
function checkSchedules(t: ReturnType<typeof synth>['template'], functionId: string) {
  return Object.values(t.findResources('AWS::Scheduler::Schedule'))
    .map((s) => s.Properties)
    .filter((p) => JSON.stringify(p.Target.Arn) === JSON.stringify({ 'Fn::GetAtt': [functionId, 'Arn'] }));
}

describe('run check', () => {
  const functionId = logicalId(stack.runCheck.function.function);

  it('checks the daily run an hour after its time, in the center’s zone, parking failures in the dead-letter queue', () => {
    const schedules = checkSchedules(template, functionId);
    expect(schedules).toHaveLength(1);
    const [schedule] = schedules;
    expect(schedule.ScheduleExpression).toBe('cron(0 7 * * ? *)');
    expect(schedule.ScheduleExpressionTimezone).toBe('America/Chicago');
    expect(JSON.parse(schedule.Target.Input)).toEqual({
      scheduledTime: '<aws.scheduler.scheduled-time>',
      afterMinutes: 60,
    });
    expect(schedule.Target.DeadLetterConfig).toEqual({
      Arn: { 'Fn::GetAtt': [logicalId(stack.schedule.deadLetterQueue), 'Arn'] },
    });
  });

  it('checks every intraday run too, across midnight, with the configured allowance, and follows schedule.enabled', () => {
    const config = testConfig({
      timeZone: 'Europe/Paris',
      schedule: { daily: '05:30', intraday: ['12:00', '23:30'], enabled: false, lateAfterMinutes: 45 },
    });
    const other = synth(config);
    const schedules = checkSchedules(other.template, logicalId(other.stack.runCheck.function.function));
    expect(schedules.map((s) => s.ScheduleExpression).sort()).toEqual(
      ['cron(15 6 * * ? *)', 'cron(45 12 * * ? *)', 'cron(15 0 * * ? *)'].sort(),
    );
    for (const schedule of schedules) {
      expect(JSON.parse(schedule.Target.Input).afterMinutes).toBe(45);
      expect(schedule.ScheduleExpressionTimezone).toBe('Europe/Paris');
      expect(schedule.State).toBe('DISABLED');
    }
  });

  it('may list the state machine’s executions and nothing else', () => {
    const statements = roleStatements(template, logicalId(stack.runCheck.function.role));
    const listing = statements.filter((s) => String(s.Action).startsWith('states:'));
    expect(listing).toEqual([
      { Action: 'states:ListExecutions', Effect: 'Allow', Resource: { Ref: logicalId(stack.workflow.stateMachine) } },
    ]);
    expect(actionsOf(statements)).toEqual(
      ['logs:CreateLogStream', 'logs:PutLogEvents', 'states:ListExecutions'].sort(),
    );
  });

  it('is told the state machine and given no secret', () => {
    const variables = template.toJSON().Resources[functionId].Properties.Environment.Variables;
    expect(variables.STATE_MACHINE_ARN).toEqual({ Ref: logicalId(stack.workflow.stateMachine) });
  });

  it('adds minutes to a local time of day, wrapping at midnight', () => {
    expect(localTimePlus('06:00', 60)).toBe('07:00');
    expect(localTimePlus('23:30', 45)).toBe('00:15');
    expect(localTimePlus('19:59', 720)).toBe('07:59');
  });
});
