import { Duration } from 'aws-cdk-lib';
import { type FunctionUrl, FunctionUrlAuthType, InvokeMode } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import type { Config } from '../functions/common/config.ts';
import { CharlieFunction } from './charlie-function.ts';
import type { Storage } from './storage.ts';

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

    storage.grantAgentAuthentication(this.function);
    storage.grantDataList(this.function);
    storage.grantAgentInboxPush(this.function);
  }
}
