import { Duration, Validations } from 'aws-cdk-lib';
import { type FunctionUrl, FunctionUrlAuthType, InvokeMode } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import type { Config } from '../functions/common/config.ts';
import { AGENT_TOKENS_PARTITION, PARTITION_PREFIX } from '../functions/common/keys.ts';
import { CharlieFunction } from './charlie-function.ts';
import { allowItems, arnRef, startingWith } from './functions.ts';
import { allowList, allowObjects, type Storage } from './storage.ts';

export interface AgentEndpointProps {
  readonly config: Config;
  readonly storage: Storage;
}

/**
 * Where Windows agents push the exports they read from classic Outlook: a function URL that
 * answers each file an agent describes with a presigned PUT under the agent inbox prefix.
 */
export class AgentEndpoint extends Construct {
  readonly function: CharlieFunction;
  readonly url: FunctionUrl;

  constructor(scope: Construct, id: string, props: AgentEndpointProps) {
    super(scope, id);
    const { config, storage } = props;
    const { dataBucket, reportsBucket, table } = storage;
    const inbox = `${config.agentInbox.prefix}*`;

    this.function = new CharlieFunction(this, 'Upload', {
      config,
      resources: { dataBucket: dataBucket.bucketName, reportsBucket: reportsBucket.bucketName, table: table.tableName },
      stage: 'agent-upload',
      description:
        'Authenticates a Windows agent and answers each file it describes with a presigned PUT to the agent inbox',
      memorySize: 256,
      timeout: Duration.seconds(10),
      reservedConcurrency: config.endpoints.reservedConcurrency,
    });
    // No IAM auth: a desktop has no AWS credentials. Each agent's bearer token, checked against its
    // stored hash on every request, is the authentication.
    this.url = this.function.function.addFunctionUrl({
      authType: FunctionUrlAuthType.NONE,
      invokeMode: InvokeMode.BUFFERED,
    });

    // Token hashes (read) and per-minute request counters (conditional update), nothing else in the table.
    allowItems(this.function, table, [AGENT_TOKENS_PARTITION], ['dynamodb:GetItem']);
    allowItems(this.function, table, [startingWith(PARTITION_PREFIX.agent)], ['dynamodb:UpdateItem']);
    // HeadObject tells an already pushed file; the presigned PUT is signed with this role, so the
    // role must be allowed the PutObject it hands out.
    allowList(this.function, dataBucket);
    allowObjects(this.function, dataBucket, inbox, ['s3:GetObject', 's3:PutObject']);
    Validations.of(this.function.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${arnRef(dataBucket)}/${inbox}]`,
      reason:
        'The endpoint presigns PUTs for keys <prefix><agent>/<received>_<sha256>/<name> under the agent inbox; the agent and file are only known per request, and an agent bearer token (not IAM) decides who may ask.',
    });
  }
}
