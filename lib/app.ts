import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { Config } from '../functions/common/config.ts';
import { CharlieStack } from './charlie-stack.ts';

export interface CreateAppOptions {
  /** The app to add the stack to; a new one by default. */
  readonly app?: App;
}

export interface CharlieApp {
  readonly app: App;
  readonly stack: CharlieStack;
}

/** The deployment of one validated configuration, checked against the AWS Solutions rules on synth. */
export function createApp(config: Config, opts: CreateAppOptions = {}): CharlieApp {
  const app = opts.app ?? new App();
  const stack = new CharlieStack(app, 'Charlie', {
    stackName: config.name,
    description: 'Charlie Reporting: Genesys CSV exports from a mailbox to a daily Excel workbook by email',
    config,
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}
