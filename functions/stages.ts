import { INGEST_HEAP_FLAGS, INGEST_MEMORY_MB } from '../lib/ingest-runtime.ts';
import { scratchMebibytes } from './collect/spool.ts';
import type { Config } from './common/config.ts';

/**
 * The workflow's stages, each declared once. CDK builds their functions from these facts
 * (lib/functions.ts) and fills the ASL's placeholders (lib/workflow.ts); the local runner maps
 * the same placeholders to the same handlers (local/pipeline.ts); test/stages.test.ts holds the
 * three and the ASL to each other. Plain data: CDK imports it without the handlers, and no
 * Lambda bundle imports it.
 *
 * Adding a stage: declare it here, add its Task to stepfunctions/charlie.asl.json, write
 * functions/<key>/ (index.ts is `stageHandler(<key>Stage(deps))`, the stage in stage.ts), give
 * local/pipeline.ts its handler, and its tests.
 */
export type StageKey = 'collect' | 'ingest' | 'workbook' | 'deliver';

/** One retrier of a Task's `Retry`, as Amazon States Language writes it. */
export interface AslRetrier {
  readonly ErrorEquals: readonly string[];
  readonly IntervalSeconds: number;
  readonly MaxAttempts: number;
  readonly BackoffRate: number;
  readonly MaxDelaySeconds: number;
  readonly JitterStrategy: 'FULL' | 'NONE';
}

export interface StageFacts {
  /** The construct id in lib/functions.ts: the function's CloudFormation logical ids derive from it. */
  readonly constructId: string;
  /** The ASL placeholder its function's ARN fills (`${…}` in stepfunctions/charlie.asl.json). */
  readonly substitution: string;
  readonly description: string;
  readonly memoryMiB: number;
  /** Node.js flags beside `--enable-source-maps` (heap sizes). */
  readonly nodeFlags?: readonly string[];
  /** The Lambda timeout; also what the local runner's invocations are given. */
  readonly timeoutSeconds: number;
  /** Local disk (`/tmp`) in MiB, when the default (lib/charlie-function.ts) is not enough. */
  readonly ephemeralStorageMiB?: (config: Config) => number;
  /** The `Retry` of each of its Task states in the ASL, which test/stages.test.ts compares with this. */
  readonly retry: readonly AslRetrier[];
}

/**
 * Lambda's own transient failures, and the stages' (functions/common/retry.ts names a
 * throttled or failing AWS call TransientError): every stage is idempotent, so each is retried.
 */
const transientRetry: AslRetrier = {
  ErrorEquals: [
    'Lambda.ServiceException',
    'Lambda.AWSLambdaException',
    'Lambda.SdkClientException',
    'Lambda.TooManyRequestsException',
    'TransientError',
  ],
  IntervalSeconds: 2,
  MaxAttempts: 4,
  BackoffRate: 2,
  MaxDelaySeconds: 60,
  JitterStrategy: 'FULL',
};

/** Each stage by its key, which is also its folder under functions/. */
export const STAGES: { readonly [K in StageKey]: StageFacts } = {
  collect: {
    constructId: 'Collect',
    substitution: 'CollectFunctionArn',
    description: 'Reads the mailbox, saved mail and the agent inbox; stores the day’s CSV files under raw/',
    memoryMiB: 512,
    timeoutSeconds: 300,
    // Attachments are spooled to /tmp while hashed: one per message read at once must fit (1 GiB by default).
    ephemeralStorageMiB: (config) => scratchMebibytes(config.mailbox.maxAttachmentBytes),
    retry: [transientRetry],
  },
  ingest: {
    constructId: 'Ingest',
    substitution: 'IngestFunctionArn',
    description: 'Parses one stored CSV, stores its rows deduplicated in DynamoDB, writes rejects',
    memoryMiB: INGEST_MEMORY_MB,
    nodeFlags: INGEST_HEAP_FLAGS,
    timeoutSeconds: 300,
    retry: [transientRetry],
  },
  workbook: {
    // The ASL state and the construct kept the name Build, so the deployed resources keep theirs.
    constructId: 'Build',
    substitution: 'BuildFunctionArn',
    description: 'Reads the day from DynamoDB and writes the workbook under reports/',
    memoryMiB: 1024,
    timeoutSeconds: 300,
    retry: [transientRetry],
  },
  deliver: {
    constructId: 'Deliver',
    substitution: 'DeliverFunctionArn',
    description: 'Emails the workbook and a download link; emails admins when a run fails',
    memoryMiB: 256,
    timeoutSeconds: 60,
    retry: [transientRetry],
  },
};

export const STAGE_KEYS = Object.keys(STAGES) as StageKey[];

/** The stage whose function fills an ASL placeholder, if any does. */
export function stageOfSubstitution(name: string): StageKey | undefined {
  return STAGE_KEYS.find((key) => STAGES[key].substitution === name);
}
