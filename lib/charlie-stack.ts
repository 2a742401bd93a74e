import { CfnOutput, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { Config } from '../functions/common/config.ts';
import { stateMachineName } from '../functions/common/keys.ts';
import { AgentEndpoint } from './agent-endpoint.ts';
import { Console } from './console.ts';
import { FailureNotices } from './failure-notices.ts';
import { Functions } from './functions.ts';
import { DownloadLinks } from './link.ts';
import { Mail } from './mail.ts';
import { Monitoring } from './monitoring.ts';
import { RunCheck } from './run-check.ts';
import { RunSchedule } from './schedule.ts';
import { Storage } from './storage.ts';
import { Workflow } from './workflow.ts';

export interface CharlieStackProps extends StackProps {
  /** The validated configuration (charlie.config.json). */
  readonly config: Config;
}

export class CharlieStack extends Stack {
  readonly storage: Storage;
  readonly mail: Mail;
  readonly links: DownloadLinks;
  readonly functions: Functions;
  readonly workflow: Workflow;
  readonly schedule: RunSchedule;
  readonly runCheck: RunCheck;
  readonly failureNotices: FailureNotices;
  readonly monitoring: Monitoring;
  readonly agentEndpoint: AgentEndpoint;
  /** The web console, when the configuration has a console section. */
  readonly console?: Console;

  constructor(scope: Construct, id: string, props: CharlieStackProps) {
    super(scope, id, props);
    const { config } = props;
    Tags.of(this).add('app', config.name);

    this.storage = new Storage(this, 'Storage', { config });
    this.mail = new Mail(this, 'Mail', { from: config.delivery.from, admins: config.delivery.admins });
    this.links = new DownloadLinks(this, 'Links', { config, storage: this.storage });
    this.functions = new Functions(this, 'Functions', {
      config,
      storage: this.storage,
      sender: this.mail.identity,
    });
    this.links.allowSigning(this.functions.deliver);
    this.mail.useConfigurationSet(this.functions.deliver);
    this.workflow = new Workflow(this, 'Workflow', {
      functions: this.functions,
      stateMachineName: stateMachineName(config),
    });
    this.schedule = new RunSchedule(this, 'Schedule', { config, stateMachine: this.workflow.stateMachine });
    this.runCheck = new RunCheck(this, 'RunCheck', {
      config,
      resources: this.functions.resources,
      stateMachine: this.workflow.stateMachine,
      deadLetterQueue: this.schedule.deadLetterQueue,
    });
    this.failureNotices = new FailureNotices(this, 'FailureNotices', {
      stateMachine: this.workflow.stateMachine,
      deliver: this.functions.deliver,
      deadLetterQueue: this.schedule.deadLetterQueue,
    });
    this.monitoring = new Monitoring(this, 'Monitoring', {
      config,
      stateMachine: this.workflow.stateMachine,
      functions: this.functions.all,
      deadLetterQueue: this.schedule.deadLetterQueue,
      runCheck: this.runCheck.function,
    });
    this.agentEndpoint = new AgentEndpoint(this, 'AgentEndpoint', { config, storage: this.storage });
    if (config.console?.enabled) {
      this.console = new Console(this, 'Console', {
        config,
        settings: config.console,
        storage: this.storage,
        stateMachine: this.workflow.stateMachine,
        alarms: this.monitoring.alarms,
        deadLetterQueues: [this.schedule.deadLetterQueue],
      });
    }

    new CfnOutput(this, 'DataBucketName', {
      value: this.storage.dataBucket.bucketName,
      description: `Source files: raw/, rejects/; agents put files under ${config.agentInbox.prefix}`,
    });
    new CfnOutput(this, 'ReportsBucketName', {
      value: this.storage.reportsBucket.bucketName,
      description: 'Workbooks under reports/',
    });
    new CfnOutput(this, 'TableName', { value: this.storage.table.tableName });
    new CfnOutput(this, 'AgentEndpointUrl', {
      value: this.agentEndpoint.url.url,
      description: 'The Windows agent endpoint: put it in agent.config.json as "endpoint"',
    });
    new CfnOutput(this, 'DownloadLinkUrl', {
      value: this.links.url.url,
      description: 'The download link endpoint the report emails point to',
    });
    new CfnOutput(this, 'StateMachineArn', {
      value: this.workflow.stateMachine.stateMachineArn,
      description: 'Start a run by hand with this state machine',
    });
  }
}
