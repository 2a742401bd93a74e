import { spawnSync } from 'node:child_process';
import { type CfnElement, CfnOutput, DockerImage, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import {
  type CorsHttpMethod,
  HttpApi,
  type HttpMethod,
  HttpStage,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import {
  AllowedMethods,
  CachePolicy,
  Distribution,
  HeadersFrameOption,
  HeadersReferrerPolicy,
  HttpVersion,
  PriceClass,
  ResponseHeadersPolicy,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import type { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import {
  AccountRecovery,
  CfnManagedLoginBranding,
  CfnUserPoolGroup,
  CfnUserPoolUser,
  CfnUserPoolUserToGroupAttachment,
  FeaturePlan,
  ManagedLoginVersion,
  Mfa,
  OAuthScope,
  UserPool,
  type UserPoolClient,
  UserPoolClientIdentityProvider,
  type UserPoolDomain,
} from 'aws-cdk-lib/aws-cognito';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption } from 'aws-cdk-lib/aws-s3';
import { BucketDeployment, type ISource, Source } from 'aws-cdk-lib/aws-s3-deployment';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { Config, ConsoleConfig } from '../functions/common/config.ts';
import { ENV } from '../functions/common/names.ts';
import type { ConsoleSettings } from '../functions/console-api/contract.ts';
import { routeKeys } from '../functions/console-api/router.ts';
import { CharlieFunction } from './charlie-function.ts';
import { apiCors, contentSecurityPolicy, strictTransportSecurity } from './console-policy.ts';
import { arnRef } from './grants.ts';
import { fromRoot, repoRoot } from './paths.ts';
import type { Storage } from './storage.ts';

export interface ConsoleProps {
  readonly config: Config;
  readonly settings: ConsoleConfig;
  readonly storage: Storage;
  readonly stateMachine: StateMachine;
  readonly alarms: readonly Alarm[];
  readonly deadLetterQueues: readonly IQueue[];
}

/**
 * The web console: the app's static files in a private bucket behind CloudFront (origin access
 * control, HTTPS only, strict response headers), its API an HTTP API whose JWT authorizer trusts
 * the console's identity provider — a Cognito user pool by default, or the issuer configured —
 * in front of the console-api function, which checks the roles on every route.
 */
export class Console extends Construct {
  readonly bucket: Bucket;
  readonly distribution: Distribution;
  readonly api: HttpApi;
  readonly function: CharlieFunction;
  readonly userPool?: UserPool;
  readonly client?: UserPoolClient;
  /** The console's address. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: ConsoleProps) {
    super(scope, id);
    const { config, settings, storage } = props;
    const stack = Stack.of(this);

    this.bucket = new Bucket(this, 'Site', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      serverAccessLogsBucket: storage.logsBucket,
      serverAccessLogsPrefix: 'console/',
      // Only the built app lives here, deployed again by every cdk deploy.
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const pool = settings.issuer ? undefined : this.userPoolOf(config, settings);
    const issuer = settings.issuer ?? `https://cognito-idp.${stack.region}.amazonaws.com/${pool?.userPool.userPoolId}`;
    // What the app calls besides the API: the issuer's discovery and keys, and Cognito's token endpoint.
    const identityOrigins = settings.issuer
      ? [new URL(settings.issuer).origin]
      : [`https://cognito-idp.${stack.region}.amazonaws.com`, pool?.domain.baseUrl() ?? ''];

    // Naming the API's own URL here would make a cycle (its CORS names the distribution, whose
    // headers would name it): the app may call API Gateway in this region, and only this API takes its tokens.
    const headers = new ResponseHeadersPolicy(this, 'Headers', {
      comment: `${config.name} console: CSP without unsafe-inline, HSTS, nosniff, no framing`,
      securityHeadersBehavior: {
        contentSecurityPolicy: {
          contentSecurityPolicy: contentSecurityPolicy([
            `https://*.execute-api.${stack.region}.amazonaws.com`,
            ...identityOrigins,
          ]),
          override: true,
        },
        strictTransportSecurity: {
          accessControlMaxAge: Duration.seconds(strictTransportSecurity.maxAgeSeconds),
          includeSubdomains: strictTransportSecurity.includeSubdomains,
          override: true,
        },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: HeadersReferrerPolicy.NO_REFERRER, override: true },
      },
    });

    this.distribution = new Distribution(this, 'Distribution', {
      comment: `${config.name} console`,
      defaultRootObject: 'index.html',
      httpVersion: HttpVersion.HTTP2_AND_3,
      priceClass: PriceClass.PRICE_CLASS_100,
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY,
        allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: headers,
        compress: true,
      },
      // The app's own paths (/days/…, /callback) are the app: the bucket answers 403 for a key it lacks.
      errorResponses: [403, 404].map((httpStatus) => ({
        httpStatus,
        responseHttpStatus: 200,
        responsePagePath: '/index.html',
        ttl: Duration.seconds(0),
      })),
    });
    this.url = `https://${this.distribution.distributionDomainName}`;

    const client = pool ? this.clientOf(pool.userPool) : undefined;
    if (pool && client) Object.assign(this, { userPool: pool.userPool, client });
    const audience = settings.audience ?? client?.userPoolClientId ?? '';

    this.function = new CharlieFunction(this, 'Api', {
      config,
      resources: {
        dataBucket: storage.dataBucket.bucketName,
        reportsBucket: storage.reportsBucket.bucketName,
        table: storage.table.tableName,
      },
      stage: 'console-api',
      description: 'The web console API: days, a day, downloads, actions, health',
      memorySize: 512,
      timeout: Duration.seconds(29),
    });
    const fn = this.function.function;
    fn.addEnvironment(ENV.stateMachineArn, props.stateMachine.stateMachineArn);
    fn.addEnvironment(ENV.alarmNames, props.alarms.map((alarm) => alarm.alarmName).join(','));
    fn.addEnvironment(ENV.deadLetterQueues, props.deadLetterQueues.map((queue) => queue.queueName).join(','));
    this.grantApi(props);

    const accessLogs = new LogGroup(this, 'ApiAccessLogs', { retention: RetentionDays.THREE_MONTHS });
    this.api = new HttpApi(this, 'HttpApi', {
      apiName: `${config.name}-console`,
      description: `${config.name} console API`,
      createDefaultStage: false,
      corsPreflight: {
        allowOrigins: [this.url],
        allowMethods: apiCors.allowMethods.map((method) => method as CorsHttpMethod),
        allowHeaders: [...apiCors.allowHeaders],
        exposeHeaders: [...apiCors.exposeHeaders],
        maxAge: Duration.seconds(apiCors.maxAgeSeconds),
      },
    });
    new HttpStage(this, 'Stage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: settings.throttle.rate, burstLimit: settings.throttle.burst },
      accessLogSettings: { destination: new LogGroupLogDestination(accessLogs) },
    });
    const authorizer = new HttpJwtAuthorizer('Jwt', issuer, { jwtAudience: [audience] });
    const integration = new HttpLambdaIntegration('Handler', fn);
    for (const key of routeKeys) {
      const [method, path] = key.split(' ') as [HttpMethod, string];
      this.api.addRoutes({ path, methods: [method], integration, authorizer });
    }

    const appSettings: ConsoleSettings = {
      apiUrl: this.api.apiEndpoint,
      issuer,
      clientId: settings.clientId ?? client?.userPoolClientId ?? '',
      scopes: settings.scopes ?? ['openid', 'email', 'profile'],
      timeZone: config.timeZone,
      centerName: settings.centerName,
    };
    new BucketDeployment(this, 'App', {
      destinationBucket: this.bucket,
      sources: [builtApp(), Source.jsonData('config.json', appSettings)],
      distribution: this.distribution,
      distributionPaths: ['/index.html', '/config.json'],
      memoryLimit: 256,
    });
    this.acknowledgeHosting();

    new CfnOutput(Stack.of(this), 'ConsoleUrl', { value: this.url, description: 'The web console' });
    new CfnOutput(Stack.of(this), 'ConsoleApiUrl', { value: this.api.apiEndpoint, description: 'The web console API' });
    if (pool) {
      new CfnOutput(Stack.of(this), 'ConsoleUserPoolId', {
        value: pool.userPool.userPoolId,
        description: 'Console users: invite them through console.users, or in the Cognito console',
      });
    }
  }

  /** Findings on the hosting that are choices, with their reasons. */
  private acknowledgeHosting(): void {
    Validations.of(this.distribution).acknowledge(
      {
        id: 'AwsSolutions-CFR1',
        reason:
          'The console serves an organisation’s staff wherever they work; sign-in decides who gets data, not the country.',
      },
      {
        id: 'AwsSolutions-CFR2',
        reason:
          'The distribution serves only static files; every request for data goes to the API, which needs a valid token and is throttled.',
      },
      {
        id: 'AwsSolutions-CFR3',
        reason:
          'The distribution serves only the static app, the same files to everyone; the API logs every request (access log group), and the site bucket has S3 access logs.',
      },
      {
        id: 'AwsSolutions-CFR4',
        reason:
          'The default *.cloudfront.net certificate cannot set a minimum TLS version; a custom domain with an ACM certificate (TLSv1.2_2021) is the way to require it (docs/console.md).',
      },
    );
    // BucketDeployment's own handler, a stack-wide singleton that CDK builds and updates.
    const handler = Stack.of(this).node.children.find((child) =>
      child.node.id.startsWith('Custom::CDKBucketDeployment'),
    );
    if (!handler) return;
    Validations.of(handler).acknowledge(
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: 'CDK’s BucketDeployment handler comes with its role; it only runs during deployments.',
      },
      {
        id: 'AwsSolutions-L1',
        reason: 'CDK’s BucketDeployment handler picks its own runtime, updated with aws-cdk-lib.',
      },
      ...[
        'Action::s3:GetBucket*',
        'Action::s3:GetObject*',
        'Action::s3:List*',
        'Action::s3:Abort*',
        'Action::s3:DeleteObject*',
        'Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*',
        `Resource::${arnRef(this.bucket)}/*`,
        'Resource::*',
      ].map((finding) => ({
        id: `AwsSolutions-IAM5[${finding}]`,
        reason:
          'CDK’s BucketDeployment handler copies the built app from the CDK assets bucket into the site bucket (replacing what was there) and invalidates the distribution, which supports no resource-level permission.',
      })),
    );
  }

  /** The user pool: no self sign-up, MFA as configured, the two groups, the invited users, managed login. */
  private userPoolOf(config: Config, settings: ConsoleConfig): { userPool: UserPool; domain: UserPoolDomain } {
    const userPool = new UserPool(this, 'Users', {
      userPoolName: `${config.name}-console`,
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      autoVerify: { email: true },
      mfa: { off: Mfa.OFF, optional: Mfa.OPTIONAL, required: Mfa.REQUIRED }[settings.mfa],
      mfaSecondFactor: { otp: true, sms: false },
      passwordPolicy: {
        minLength: 12,
        requireDigits: true,
        requireLowercase: true,
        requireUppercase: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(7),
      },
      accountRecovery: AccountRecovery.EMAIL_ONLY,
      featurePlan: FeaturePlan.ESSENTIALS,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const groups = Object.fromEntries(
      (['viewer', 'operator'] as const).map((role) => [
        role,
        new CfnUserPoolGroup(this, `Group-${role}`, {
          userPoolId: userPool.userPoolId,
          groupName: role,
          description:
            role === 'operator'
              ? 'Reads and downloads; reruns, cancels, redrives, undoes and resends'
              : 'Reads and downloads',
        }),
      ]),
    );
    settings.users.forEach((user, i) => {
      // Cognito emails the user a temporary password and the sign-in address.
      const created = new CfnUserPoolUser(this, `User${i}`, {
        userPoolId: userPool.userPoolId,
        username: user.email,
        desiredDeliveryMediums: ['EMAIL'],
        userAttributes: [
          { name: 'email', value: user.email },
          { name: 'email_verified', value: 'true' },
        ],
      });
      const membership = new CfnUserPoolUserToGroupAttachment(this, `User${i}Role`, {
        userPoolId: userPool.userPoolId,
        username: user.email,
        groupName: user.role,
      });
      membership.node.addDependency(created, groups[user.role] as CfnUserPoolGroup);
    });
    const domain = userPool.addDomain('Login', {
      cognitoDomain: { domainPrefix: settings.domainPrefix ?? `${config.name}-console-${Stack.of(this).account}` },
      managedLoginVersion: ManagedLoginVersion.NEWER_MANAGED_LOGIN,
    });
    if (settings.mfa !== 'required') {
      Validations.of(userPool).acknowledge({
        id: 'AwsSolutions-COG2',
        reason: `MFA is ${settings.mfa} by console.mfa, the organisation's choice; docs/console.md recommends required.`,
      });
    }
    Validations.of(userPool).acknowledge({
      id: 'AwsSolutions-COG8',
      reason:
        'The Plus feature plan (threat protection) costs extra per user; the pool has no self sign-up, only invited users, and MFA as configured.',
    });
    return { userPool, domain };
  }

  /** The app client: authorization code with PKCE, no secret, the console's /callback its only redirect. */
  private clientOf(userPool: UserPool): UserPoolClient {
    const client = userPool.addClient('Console', {
      generateSecret: false,
      authFlows: {},
      preventUserExistenceErrors: true,
      supportedIdentityProviders: [UserPoolClientIdentityProvider.COGNITO],
      accessTokenValidity: Duration.hours(1),
      idTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.hours(12),
      oAuth: {
        flows: { authorizationCodeGrant: true },
        scopes: [OAuthScope.OPENID, OAuthScope.EMAIL, OAuthScope.PROFILE],
        callbackUrls: [`${this.url}/callback`],
        logoutUrls: [`${this.url}/`],
      },
    });
    new CfnManagedLoginBranding(this, 'LoginBranding', {
      userPoolId: userPool.userPoolId,
      clientId: client.userPoolClientId,
      useCognitoProvidedValues: true,
    });
    return client;
  }

  /** Read the day's records, sign workbook downloads, start and stop executions, write the audit log: nothing more. */
  private grantApi(props: ConsoleProps): void {
    const { storage } = props;
    const fn = this.function;
    storage.grantDataList(fn);
    storage.grantRunRecords(fn, 'read');
    storage.grantQuarantineRecords(fn, ['read']);
    storage.grantRejectsRead(fn);
    // A file's sender is in its raw object's metadata (HeadObject), long values in a JSON object beside it.
    storage.grantRawRead(fn);
    // The presigned download is signed with this role: it must be allowed the GetObject it hands out.
    storage.grantReportRead(fn);
    storage.grantReportVersionsList(fn);
    storage.grantConsoleQueries(fn);
    storage.grantAuditWrite(fn);
    const machine = props.stateMachine;
    machine.grant(fn, 'states:StartExecution', 'states:ListExecutions');
    machine.grantExecution(
      fn,
      'states:DescribeExecution',
      'states:GetExecutionHistory',
      'states:StopExecution',
      'states:RedriveExecution',
    );
    if (props.alarms.length > 0) {
      fn.grantPrincipal.addToPrincipalPolicy(
        new PolicyStatement({ actions: ['cloudwatch:DescribeAlarms'], resources: props.alarms.map((a) => a.alarmArn) }),
      );
    }
    fn.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['cloudwatch:GetMetricData'], resources: ['*'] }),
    );
    Validations.of(fn.role).acknowledge(
      {
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${stateMachineNameRef(machine)}:*]`,
        reason:
          'The console describes, stops and redrives the executions of the one state machine; their names are only known at run time.',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'cloudwatch:GetMetricData, which reads the dead-letter queue’s depth, supports no resource-level permissions.',
      },
    );
  }
}

/** How cdk-nag renders the state machine's name, as `grantExecution` takes it from its ARN. */
function stateMachineNameRef(machine: StateMachine): string {
  const id = Stack.of(machine).getLogicalId(machine.node.defaultChild as CfnElement);
  return `{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${id}"}]}]}`;
}

/** The app built by web/build.ts on this machine at synth (no Docker), into the asset folder. */
function builtApp(): ISource {
  return Source.asset(fromRoot('web'), {
    bundling: {
      image: DockerImage.fromRegistry('none'),
      local: {
        tryBundle(outputDir: string): boolean {
          const built = spawnSync(
            process.execPath,
            [
              '--import',
              'tsx',
              '--input-type=module',
              '-e',
              'const { buildConsole } = await import(process.argv[1]); await buildConsole(process.argv[2]);',
              fromRoot('web', 'build.ts'),
              outputDir,
            ],
            { cwd: repoRoot, stdio: 'inherit' },
          );
          if (built.status !== 0) throw new Error('Building the console app (web/build.ts) failed');
          return true;
        },
      },
    },
  });
}
