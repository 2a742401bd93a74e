import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { Center } from '../functions/common/centers.ts';
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

export interface CentersApp {
  readonly app: App;
  /** One stack per center, in the order given. */
  readonly stacks: CharlieStack[];
}

const description = 'Charlie Reporting: Genesys CSV exports from a mailbox to a daily Excel workbook by email';

/** The deployment of one validated configuration, checked against the AWS Solutions rules on synth. */
export function createApp(config: Config, opts: CreateAppOptions = {}): CharlieApp {
  const app = opts.app ?? new App();
  const stack = new CharlieStack(app, 'Charlie', { stackName: config.name, description, config });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}

/**
 * One stack per center (functions/common/centers.ts), each named and identified by the center's
 * name, so that `cdk deploy <center>` deploys one and `cdk deploy --all` every one.
 */
export function createCentersApp(centers: readonly Center[], opts: CreateAppOptions = {}): CentersApp {
  const app = opts.app ?? new App();
  const stacks = centers.map(
    (center) =>
      new CharlieStack(app, center.name, {
        stackName: center.name,
        description: `${description} (center ${center.name})`,
        config: center.config,
      }),
  );
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stacks };
}
