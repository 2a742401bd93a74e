import { Duration, Stack, TimeZone, Validations } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { ContextAttribute, Schedule, ScheduleExpression, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { StepFunctionsStartExecution } from 'aws-cdk-lib/aws-scheduler-targets';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { Config } from '../functions/common/config.ts';

export interface ScheduleProps {
  readonly config: Config;
  readonly stateMachine: IStateMachine;
}

/** EventBridge Scheduler: the daily run, plus the intraday runs, at local times in the configured zone. */
export class RunSchedule extends Construct {
  readonly daily: Schedule;
  readonly intraday: Schedule[];
  readonly deadLetterQueue: Queue;
  readonly role: Role;

  constructor(scope: Construct, id: string, props: ScheduleProps) {
    super(scope, id);
    const { config, stateMachine } = props;
    const timeZone = TimeZone.of(config.timeZone);

    this.deadLetterQueue = new Queue(this, 'DeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself a dead-letter queue: of the schedules (runs and run checks Scheduler could not start) and of the failure notices EventBridge could not hand over.',
    });

    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
      description: 'Starts Charlie runs (and parks the ones that could not start in the dead-letter queue)',
    });

    const target = (input: ScheduleTargetInput) =>
      new StepFunctionsStartExecution(stateMachine, {
        role: this.role,
        input,
        deadLetterQueue: this.deadLetterQueue,
        retryAttempts: 3,
        // A run that cannot start within two hours would report too late; it goes to the dead-letter queue.
        maxEventAge: Duration.hours(2),
      });

    this.daily = new Schedule(this, 'Daily', {
      description: `Charlie daily run at ${config.schedule.daily} ${config.timeZone}`,
      schedule: ScheduleExpression.cron({ ...cronAt(config.schedule.daily), timeZone }),
      target: target(ScheduleTargetInput.fromObject({ scheduledTime: ContextAttribute.scheduledTime })),
      enabled: config.schedule.enabled,
    });

    this.intraday = [...new Set(config.schedule.intraday)].map(
      (time) =>
        new Schedule(this, `Intraday${time.replace(':', '')}`, {
          description: `Charlie intraday run at ${time} ${config.timeZone}`,
          schedule: ScheduleExpression.cron({ ...cronAt(time), timeZone }),
          target: target(
            ScheduleTargetInput.fromObject({ scheduledTime: ContextAttribute.scheduledTime, intraday: true }),
          ),
          enabled: config.schedule.enabled,
        }),
    );
  }
}

/** "06:05" → cron fields minute 5, hour 6 (every day). */
export function cronAt(time: string): { hour: string; minute: string } {
  const [hour, minute] = time.split(':').map(Number);
  return { hour: String(hour), minute: String(minute) };
}
