import { Duration, Validations } from 'aws-cdk-lib';
import { type FunctionUrl, FunctionUrlAuthType, InvokeMode } from 'aws-cdk-lib/aws-lambda';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { Config } from '../functions/common/config.ts';
import { linkKeySecretName } from '../functions/common/link-token.ts';
import { ENV } from '../functions/common/names.ts';
import { CharlieFunction } from './charlie-function.ts';
import type { Storage } from './storage.ts';

export interface DownloadLinksProps {
  readonly config: Config;
  readonly storage: Storage;
}

/**
 * The download links in report emails. A presigned S3 URL dies with the role session that signed
 * it, hours later; so the email links to this function URL with a token signed by a key in
 * Secrets Manager, and the function checks the token and redirects to an S3 URL presigned there
 * and then, valid for minutes. Replacing the key's value revokes every link sent.
 */
export class DownloadLinks extends Construct {
  readonly key: Secret;
  readonly function: CharlieFunction;
  readonly url: FunctionUrl;

  constructor(scope: Construct, id: string, props: DownloadLinksProps) {
    super(scope, id);
    const { config, storage } = props;
    const { dataBucket, reportsBucket, table } = storage;

    this.key = new Secret(this, 'Key', {
      secretName: linkKeySecretName(config),
      description: 'Signs the download links in report emails; a new value revokes every link sent before it',
      generateSecretString: {
        secretStringTemplate: JSON.stringify({}),
        generateStringKey: 'key',
        passwordLength: 64,
        excludePunctuation: true,
      },
    });
    Validations.of(this.key).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Rotating the link key revokes every download link already emailed, so it is replaced by hand when links must be revoked (docs/delivery.md), never on a timer.',
    });

    this.function = new CharlieFunction(this, 'Endpoint', {
      config,
      resources: { dataBucket: dataBucket.bucketName, reportsBucket: reportsBucket.bucketName, table: table.tableName },
      stage: 'link',
      description: 'Checks a download link token and redirects to a freshly presigned URL of the workbook',
      memorySize: 256,
      timeout: Duration.seconds(10),
      reservedConcurrency: config.endpoints.reservedConcurrency,
    });
    // No IAM auth: the people clicking a link in an email have no AWS credentials. The signed,
    // expiring token in the link is the authentication.
    this.url = this.function.function.addFunctionUrl({
      authType: FunctionUrlAuthType.NONE,
      invokeMode: InvokeMode.BUFFERED,
    });

    this.key.grantRead(this.function);
    // HeadObject tells a removed workbook; the presigned GET is signed with this role, so the role
    // must be allowed the GetObject (of the version named in the token) it hands out.
    storage.grantReportRead(this.function);
  }

  /** Lets a function sign links: read the key, and know the endpoint's address. */
  allowSigning(fn: CharlieFunction): void {
    this.key.grantRead(fn);
    fn.function.addEnvironment(ENV.linkBaseUrl, this.url.url);
  }
}
