import { Duration } from 'aws-cdk-lib';
import { Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { CharlieFunction } from './charlie-function.ts';

export interface FailureNoticesProps {
  readonly stateMachine: IStateMachine;
  /** The function that mails the admins (deliver: it reads the event as a failure). */
  readonly deliver: CharlieFunction;
  /** Where notices EventBridge could not hand over are parked. */
  readonly deadLetterQueue: IQueue;
}

/**
 * Mails the admins when an execution fails, times out or is aborted. The state machine catches
 * nothing, so that a redrive resumes at the stage that failed (a Catch to a notifying state and
 * a Fail state would make the Fail state the failure, and a redrive would fail again at once);
 * the end of the execution is reported by EventBridge instead, with its error and cause.
 * A redriven execution that fails again is reported again.
 */
export class FailureNotices extends Construct {
  readonly rule: Rule;

  constructor(scope: Construct, id: string, props: FailureNoticesProps) {
    super(scope, id);
    this.rule = new Rule(this, 'ExecutionFailed', {
      description: 'Charlie: tell the admins about a run that failed, timed out or was aborted',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: {
          stateMachineArn: [props.stateMachine.stateMachineArn],
          status: ['FAILED', 'TIMED_OUT', 'ABORTED'],
        },
      },
    });
    this.rule.addTarget(
      new LambdaFunction(props.deliver.function, {
        deadLetterQueue: props.deadLetterQueue,
        retryAttempts: 8,
        maxEventAge: Duration.hours(6),
      }),
    );
  }
}
