import { Validations } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { STAGE_KEYS, STAGES } from '../functions/stages.ts';
import type { Functions } from './functions.ts';
import { fromRoot } from './paths.ts';

export const DEFINITION_FILE = fromRoot('stepfunctions', 'charlie.asl.json');

export interface WorkflowProps {
  readonly functions: Functions;
  /** A fixed name, so the console and the `charlie` CLI find the state machine by it. */
  readonly stateMachineName: string;
}

/** The daily run: collect, ingest each file, build, deliver (a failure is reported by FailureNotices). */
export class Workflow extends Construct {
  readonly stateMachine: StateMachine;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: WorkflowProps) {
    super(scope, id);

    this.logGroup = new LogGroup(this, 'Logs', { retention: RetentionDays.THREE_MONTHS });

    this.stateMachine = new StateMachine(this, 'StateMachine', {
      stateMachineName: props.stateMachineName,
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromFile(DEFINITION_FILE),
      // Each stage's placeholder, filled with its function's ARN (functions/stages.ts).
      definitionSubstitutions: Object.fromEntries(
        STAGE_KEYS.map((key) => [STAGES[key].substitution, props.functions.of(key).functionArn]),
      ),
      // Payloads stay in the execution history; the log carries events, not mail metadata.
      logs: { destination: this.logGroup, level: LogLevel.ALL, includeExecutionData: false },
      tracingEnabled: true,
    });

    // A definition from a file is opaque to CDK, so invoking its Lambdas is granted here.
    // Tasks name unqualified ARNs, so no version or alias wildcard is needed.
    this.stateMachine.addToRolePolicy(
      new PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: props.functions.all.map((fn) => fn.functionArn),
      }),
    );

    Validations.of(this.stateMachine.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Logging to CloudWatch Logs (logs:CreateLogDelivery and related) and X-Ray tracing (xray:PutTraceSegments and related) support no resource-level permissions.',
    });
  }
}
