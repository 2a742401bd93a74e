import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { DEFINITION_FILE } from '../../lib/workflow.ts';
import { logicalId, synth, testConfig } from './synth.ts';

const { app, stack, template } = synth();
const definitionText = readFileSync(DEFINITION_FILE, 'utf8');

interface States {
  States: Record<string, { ItemProcessor?: States; Iterator?: States }>;
}

function stateNames(machine: States): string[] {
  return Object.entries(machine.States).flatMap(([name, state]) => {
    const inner = state.ItemProcessor ?? state.Iterator;
    return [name, ...(inner ? stateNames(inner) : [])];
  });
}

function machineProperties() {
  const [machine] = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
  return machine?.Properties;
}

describe('state machine', () => {
  it('is a Standard workflow that logs ALL events to a 90-day log group, traced', () => {
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
    const logs = logicalId(stack.workflow.logGroup);
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: {
        Level: 'ALL',
        Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [logs, 'Arn'] } } }],
      },
    });
    expect(template.toJSON().Resources[logs].Properties.RetentionInDays).toBe(90);
  });

  it('deploys the definition file unchanged, with the ASL state names', () => {
    const location = machineProperties()?.DefinitionS3Location as { Key: string };
    expect(location.Key).toMatch(/\.json$/);
    const deployed = readFileSync(join(app.outdir, `asset.${location.Key}`), 'utf8');
    expect(deployed).toBe(definitionText);
    expect(stateNames(JSON.parse(deployed) as States).sort()).toEqual(
      [
        'Build',
        'Collect',
        'Deliver',
        'Ingest',
        'IngestFiles',
        'Remove',
        'RemoveUndone',
        'ShouldDeliver',
        'SkipDelivery',
        'Summarise',
      ].sort(),
    );
  });
});

/** The schedules that start the state machine (the others start run checks). */
function runSchedules(t: Template) {
  return Object.values(t.findResources('AWS::Scheduler::Schedule'))
    .map((s) => s.Properties)
    .filter((p) => !('Fn::GetAtt' in p.Target.Arn));
}

describe('schedules', () => {
  it('start the daily run at 06:00 local time in the configured zone', () => {
    expect(runSchedules(template)).toHaveLength(1);
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 6 * * ? *)',
      ScheduleExpressionTimezone: 'America/Chicago',
      State: 'ENABLED',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: {
        Arn: { Ref: logicalId(stack.workflow.stateMachine) },
        Input: JSON.stringify({ scheduledTime: '<aws.scheduler.scheduled-time>' }),
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 7200 },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [logicalId(stack.schedule.deadLetterQueue), 'Arn'] } },
        RoleArn: { 'Fn::GetAtt': [logicalId(stack.schedule.role), 'Arn'] },
      },
    });
  });

  it('add one intraday run per configured time, and follow schedule.enabled', () => {
    const config = testConfig({
      timeZone: 'Europe/Paris',
      schedule: { daily: '05:30', intraday: ['10:00', '14:45'], enabled: false },
    });
    const other = synth(config).template;
    const schedules = runSchedules(other);
    expect(schedules).toHaveLength(3);
    expect(schedules.map((s) => [s.ScheduleExpression, JSON.parse(s.Target.Input)]).sort()).toEqual(
      [
        ['cron(30 5 * * ? *)', { scheduledTime: '<aws.scheduler.scheduled-time>' }],
        ['cron(0 10 * * ? *)', { scheduledTime: '<aws.scheduler.scheduled-time>', intraday: true }],
        ['cron(45 14 * * ? *)', { scheduledTime: '<aws.scheduler.scheduled-time>', intraday: true }],
      ].sort(),
    );
    for (const schedule of schedules) {
      expect(schedule.ScheduleExpressionTimezone).toBe('Europe/Paris');
      expect(schedule.State).toBe('DISABLED');
    }
  });

  it('run as a role that may only start this state machine and park failures in the dead-letter queue', () => {
    const role = logicalId(stack.schedule.role);
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [Match.objectLike({ Principal: { Service: 'scheduler.amazonaws.com' } })],
      },
    });
    const policies = Object.values(
      template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: role }] } }),
    );
    expect(policies.flatMap((p) => p.Properties.PolicyDocument.Statement)).toEqual([
      { Action: 'states:StartExecution', Effect: 'Allow', Resource: { Ref: logicalId(stack.workflow.stateMachine) } },
      {
        Action: 'sqs:SendMessage',
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [logicalId(stack.schedule.deadLetterQueue), 'Arn'] },
      },
    ]);
  });

  it('use an encrypted, TLS-only dead-letter queue', () => {
    const queue = logicalId(stack.schedule.deadLetterQueue);
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queue }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });
});

describe('failure notices', () => {
  it('send every failed, timed-out or aborted execution of this state machine to deliver, with retries and a dead-letter queue', () => {
    const deliver = logicalId(stack.functions.deliver.function);
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        detail: {
          stateMachineArn: [{ Ref: logicalId(stack.workflow.stateMachine) }],
          status: ['FAILED', 'TIMED_OUT', 'ABORTED'],
        },
      },
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [deliver, 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 21600 },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [logicalId(stack.schedule.deadLetterQueue), 'Arn'] } },
        }),
      ],
    });
    // Only this rule may invoke deliver through EventBridge.
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [deliver, 'Arn'] },
      Principal: 'events.amazonaws.com',
      SourceArn: { 'Fn::GetAtt': [logicalId(stack.failureNotices.rule), 'Arn'] },
    });
  });
});
