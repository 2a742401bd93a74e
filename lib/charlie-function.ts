import { type Duration, Size, Stack, Validations } from 'aws-cdk-lib';
import { type IGrantable, type IPrincipal, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { Resources } from '../functions/common/clients.ts';
import type { Config } from '../functions/common/config.ts';
import type { StageKey } from '../functions/stages.ts';
import { fromRoot, repoRoot } from './paths.ts';

/** Functions outside the workflow, called over HTTP. */
export type EndpointName = 'agent-upload' | 'link';

/** Functions outside the workflow, started by a schedule. */
export type ScheduledName = 'run-check';

export interface CharlieFunctionProps {
  /** The folder under functions/ whose index.ts exports `handler`. */
  readonly stage: StageKey | EndpointName | ScheduledName;
  readonly description: string;
  readonly memorySize: number;
  /** Node.js flags beside `--enable-source-maps` (heap sizes), set through NODE_OPTIONS. */
  readonly nodeFlags?: readonly string[];
  readonly timeout: Duration;
  /** Local disk (`/tmp`) in MiB, 512–10,240; set on every function so that none depends on a default. */
  readonly ephemeralStorageMiB?: number;
  /**
   * Concurrent executions reserved for the function, which are also the most it runs at once:
   * for the public endpoints, so that a flood of requests is throttled there. None when null or
   * absent.
   */
  readonly reservedConcurrency?: number | null;
  readonly config: Config;
  /** Resource names, passed as the env vars functions/common/clients.ts reads. */
  readonly resources: Resources;
}

/**
 * ESM bundles load CommonJS dependencies through esbuild's `__require` shim, which needs a `require` in scope.
 * The alias keeps the banner clear of a `createRequire` import the bundle itself may keep.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __charlieCreateRequire } from 'node:module'; const require = __charlieCreateRequire(import.meta.url);";

/** esbuild `define` that compiles the validated configuration into a bundle (see functions/common/bundled-config.ts). */
export function configDefine(config: Config): Record<string, string> {
  return { 'process.env.CHARLIE_CONFIG': JSON.stringify(JSON.stringify(config)) };
}

/**
 * `/tmp` of the functions that keep little on disk: build's workbook (about 45 MB at a million
 * rows) and ingest's streams fit many times over. Collect sets its own (functions/stages.ts).
 */
const DEFAULT_EPHEMERAL_MIB = 512;

/** A pipeline Lambda with the defaults every stage shares: its own role, log group and bundling. */
export class CharlieFunction extends Construct implements IGrantable {
  readonly function: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: CharlieFunctionProps) {
    super(scope, id);

    this.logGroup = new LogGroup(this, 'Logs', { retention: RetentionDays.THREE_MONTHS });

    // An own role: the default one carries the AWSLambdaBasicExecutionRole managed policy (logs on every group).
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
      description: `Charlie ${props.stage} function`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      entry: fromRoot('functions', props.stage, 'index.ts'),
      handler: 'handler',
      projectRoot: repoRoot,
      depsLockFilePath: fromRoot('package-lock.json'),
      description: props.description,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      ephemeralStorageSize: Size.mebibytes(props.ephemeralStorageMiB ?? DEFAULT_EPHEMERAL_MIB),
      ...(props.reservedConcurrency ? { reservedConcurrentExecutions: props.reservedConcurrency } : {}),
      role: this.role,
      logGroup: this.logGroup,
      tracing: Tracing.ACTIVE,
      environment: {
        DATA_BUCKET: props.resources.dataBucket,
        REPORTS_BUCKET: props.resources.reportsBucket,
        TABLE_NAME: props.resources.table,
        POWERTOOLS_SERVICE_NAME: 'charlie',
        POWERTOOLS_METRICS_NAMESPACE: 'Charlie',
        POWERTOOLS_LOG_LEVEL: 'INFO',
        NODE_OPTIONS: ['--enable-source-maps', ...(props.nodeFlags ?? [])].join(' '),
      },
      bundling: {
        format: OutputFormat.ESM,
        mainFields: ['module', 'main'],
        banner: ESM_REQUIRE_BANNER,
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        // AWS SDK v3 is bundled too: the versions tested are the versions deployed.
        externalModules: [],
        // The validated configuration is compiled in (see functions/common/bundled-config.ts), never passed as an env var.
        define: configDefine(props.config),
      },
    });

    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Active tracing needs xray:PutTraceSegments and xray:PutTelemetryRecords, which support no resource-level permissions.',
    });
  }

  get grantPrincipal(): IPrincipal {
    return this.role;
  }

  get functionArn(): string {
    return this.function.functionArn;
  }
}
