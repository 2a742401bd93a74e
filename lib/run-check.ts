import { Duration, Stack, TimeZone, Validations } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { ContextAttribute, Schedule, ScheduleExpression, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { Resources } from '../functions/common/clients.ts';
import type { Config } from '../functions/common/config.ts';
import { ENV } from '../functions/common/names.ts';
import type { RunCheckInput } from '../functions/run-check/run-check.ts';
import { CharlieFunction } from './charlie-function.ts';
import { arnRef } from './grants.ts';
import { cronAt } from './schedule.ts';

export interface RunCheckProps {
  readonly config: Config;
  readonly resources: Resources;
  readonly stateMachine: IStateMachine;
  /** Where checks Scheduler could not start are parked (the run schedules' queue). */
  readonly deadLetterQueue: IQueue;
}

/**
 * Tells the admins when a run has not happened by the time it should have: `lateAfterMinutes`
 * after each scheduled time (daily and intraday), in the same time zone, a check looks for an
 * execution started since then that succeeded, and publishes `LateRuns` (1 when none did).
 * A schedule that was disabled, deleted or denied, a run stuck or still failing, all show the same.
 */
export class RunCheck extends Construct {
  readonly function: CharlieFunction;
  readonly schedules: Schedule[];
  /** What the check schedules run as: invoke the check, park what could not start. */
  readonly schedulerRole: Role;

  constructor(scope: Construct, id: string, props: RunCheckProps) {
    super(scope, id);
    const { config, stateMachine } = props;
    const after = config.schedule.lateAfterMinutes;

    this.function = new CharlieFunction(this, 'Function', {
      config,
      resources: props.resources,
      stage: 'run-check',
      description: `Checks that a run succeeded within ${after} minutes of each scheduled time`,
      memorySize: 256,
      timeout: Duration.seconds(30),
    });
    this.function.function.addEnvironment(ENV.stateMachineArn, stateMachine.stateMachineArn);
    // Only the list of executions: grantRead would add DescribeExecution, histories and ListStateMachines on *.
    this.function.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['states:ListExecutions'], resources: [stateMachine.stateMachineArn] }),
    );

    this.schedulerRole = new Role(this, 'SchedulerRole', {
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
      description: 'Invokes the Charlie run check (and parks the checks that could not start in the dead-letter queue)',
    });
    Validations.of(this.schedulerRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${arnRef(this.function.function)}:*]`,
      reason:
        'lambda:InvokeFunction on the run check function and its versions (ARN:*), as the Scheduler target grants it; no other function.',
    });

    const times = [...new Set([config.schedule.daily, ...config.schedule.intraday])];
    this.schedules = times.map((time) => {
      const input: Record<keyof RunCheckInput, unknown> = {
        scheduledTime: ContextAttribute.scheduledTime,
        afterMinutes: after,
      };
      return new Schedule(this, `After${time.replace(':', '')}`, {
        description: `Charlie: has the ${time} run succeeded by ${localTimePlus(time, after)} ${config.timeZone}?`,
        schedule: ScheduleExpression.cron({
          ...cronAt(localTimePlus(time, after)),
          timeZone: TimeZone.of(config.timeZone),
        }),
        target: new LambdaInvoke(this.function.function, {
          role: this.schedulerRole,
          input: ScheduleTargetInput.fromObject(input),
          deadLetterQueue: props.deadLetterQueue,
          retryAttempts: 3,
          maxEventAge: Duration.hours(1),
        }),
        enabled: config.schedule.enabled,
      });
    });
  }
}

/** "23:30" plus 60 minutes → "00:30": a local time of day, later by whole minutes. */
export function localTimePlus(time: string, minutes: number): string {
  const [hour, minute] = time.split(':').map(Number);
  const total = ((hour ?? 0) * 60 + (minute ?? 0) + minutes) % (24 * 60);
  return `${String(Math.floor(total / 60)).padStart(2, '0')}:${String(total % 60).padStart(2, '0')}`;
}
