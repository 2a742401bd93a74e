import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { routeKeys } from '../../functions/console-api/router.ts';
import { actionsOf, logicalId, roleStatements, synth, testConfig } from './synth.ts';

const { stack, template } = synth();
const site = stack.console?.bucket;
const consoleApi = stack.console?.function;

describe('the web console in the stack', () => {
  it('serves the app from a private, encrypted, TLS-only bucket through CloudFront with origin access control', () => {
    expect(site).toBeDefined();
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LoggingConfiguration: { LogFilePrefix: 'console/' },
    });
    template.resourceCountIs('AWS::CloudFront::OriginAccessControl', 1);
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: {
        DefaultRootObject: 'index.html',
        DefaultCacheBehavior: { ViewerProtocolPolicy: 'https-only' },
        Origins: [
          Match.objectLike({ OriginAccessControlId: Match.anyValue(), S3OriginConfig: { OriginAccessIdentity: '' } }),
        ],
      },
    });
    const policy = template.findResources('AWS::S3::BucketPolicy', {
      Properties: { Bucket: { Ref: logicalId(site as never) } },
    });
    const statements = Object.values(policy).flatMap(
      (p) =>
        (p as { Properties: { PolicyDocument: { Statement: Record<string, unknown>[] } } }).Properties.PolicyDocument
          .Statement,
    );
    // Only CloudFront, for this distribution, may read; anything without TLS is denied.
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Action: 's3:GetObject',
        Principal: { Service: 'cloudfront.amazonaws.com' },
        Condition: { StringEquals: { 'AWS:SourceArn': expect.anything() } },
      }),
    );
    expect(statements).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
    expect(statements.filter((s) => s.Effect === 'Allow').every((s) => JSON.stringify(s.Principal) !== '"*"')).toBe(
      true,
    );
  });

  it('sends a CSP without unsafe-inline that lets the app call only the API and the issuer, HSTS, nosniff and no framing', () => {
    const policies = template.findResources('AWS::CloudFront::ResponseHeadersPolicy');
    const [config] = Object.values(policies).map(
      (p) =>
        (p as { Properties: { ResponseHeadersPolicyConfig: Record<string, unknown> } }).Properties
          .ResponseHeadersPolicyConfig,
    );
    const security = (config as { SecurityHeadersConfig: Record<string, Record<string, unknown>> })
      .SecurityHeadersConfig;
    const csp = JSON.stringify(security.ContentSecurityPolicy?.ContentSecurityPolicy);
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toMatch(/connect-src 'self' https:\/\/\*\.execute-api\./);
    expect(csp).toContain('cognito-idp.');
    expect(security.StrictTransportSecurity).toMatchObject({
      AccessControlMaxAgeSec: 63_072_000,
      IncludeSubdomains: true,
    });
    expect(security.ContentTypeOptions).toEqual({ Override: true });
    expect(security.FrameOptions).toEqual({ FrameOption: 'DENY', Override: true });
  });

  it("puts every route behind the JWT authorizer of the user pool's issuer and app client, CORS to the console only, throttled", () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: {
        Issuer: Match.objectLike({
          'Fn::Join': Match.arrayWith([Match.arrayWith([Match.stringLikeRegexp('cognito-idp')])]),
        }),
        Audience: [{ Ref: Match.stringLikeRegexp('ConsoleUsersConsole') }],
      },
    });
    const routes = template.findResources('AWS::ApiGatewayV2::Route');
    const declared = Object.values(routes).map(
      (r) => (r as { Properties: { RouteKey: string; AuthorizationType: string } }).Properties,
    );
    expect(declared.map((r) => r.RouteKey).sort()).toEqual([...routeKeys].sort());
    expect(declared.every((r) => r.AuthorizationType === 'JWT')).toBe(true);
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'HTTP',
      CorsConfiguration: {
        AllowOrigins: [
          {
            'Fn::Join': [
              '',
              ['https://', { 'Fn::GetAtt': [Match.stringLikeRegexp('ConsoleDistribution'), 'DomainName'] }],
            ],
          },
        ],
        AllowHeaders: ['authorization', 'content-type'],
      },
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      DefaultRouteSettings: { ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 },
      AccessLogSettings: { DestinationArn: Match.anyValue() },
    });
  });

  it('creates the user pool without self sign-up, MFA as configured, the two groups, invited users and a PKCE client without secret', () => {
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      MfaConfiguration: 'ON',
    });
    const groups = template.findResources('AWS::Cognito::UserPoolGroup');
    expect(
      Object.values(groups)
        .map((g) => (g as { Properties: { GroupName: string } }).Properties.GroupName)
        .sort(),
    ).toEqual(['operator', 'viewer']);
    template.resourceCountIs('AWS::Cognito::UserPoolUser', 2);
    template.hasResourceProperties('AWS::Cognito::UserPoolUserToGroupAttachment', {
      Username: 'operator@example.com',
      GroupName: 'operator',
    });
    template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      GenerateSecret: false,
      AllowedOAuthFlows: ['code'],
      AllowedOAuthFlowsUserPoolClient: true,
      CallbackURLs: [
        {
          'Fn::Join': [
            '',
            ['https://', { 'Fn::GetAtt': [Match.stringLikeRegexp('ConsoleDistribution'), 'DomainName'] }, '/callback'],
          ],
        },
      ],
    });
    template.hasResourceProperties('AWS::Cognito::UserPoolDomain', { ManagedLoginVersion: 2 });
  });

  it('grants the console function only what its routes use', () => {
    const statements = roleStatements(template, logicalId(consoleApi?.role as never));
    expect(actionsOf(statements)).toEqual(
      [
        'cloudwatch:DescribeAlarms',
        'cloudwatch:GetMetricData',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        's3:GetObject',
        's3:GetObjectVersion',
        's3:ListBucket',
        's3:ListBucketVersions',
        'states:DescribeExecution',
        'states:GetExecutionHistory',
        'states:ListExecutions',
        'states:RedriveExecution',
        'states:StartExecution',
        'states:StopExecution',
      ].sort(),
    );
    const put = statements.find((s) => s.Action === 'dynamodb:PutItem');
    expect(put?.Condition).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['AUDIT#*'] } });
    const writes = statements.filter((s) =>
      JSON.stringify(s.Action).match(/s3:Put|s3:Delete|dynamodb:(Update|Delete|BatchWrite)/),
    );
    expect(writes).toEqual([]);
  });

  it('uses another OIDC issuer (Entra ID) instead of Cognito when configured, and no console at all without a console section', () => {
    const entra = synth(
      testConfig({
        console: {
          issuer: 'https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0',
          audience: 'api://charlie-console',
          clientId: '11111111-1111-1111-1111-111111111111',
          roleClaim: 'roles',
        },
      }),
    ).template;
    entra.resourceCountIs('AWS::Cognito::UserPool', 0);
    entra.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      JwtConfiguration: {
        Issuer: 'https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0',
        Audience: ['api://charlie-console'],
      },
    });
    const none = synth(testConfig({ console: undefined })).template;
    none.resourceCountIs('AWS::CloudFront::Distribution', 0);
    none.resourceCountIs('AWS::ApiGatewayV2::Api', 0);
  });
});
