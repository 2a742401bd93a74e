import { type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IConstruct } from 'constructs';

/** A function with its own role, on which a grant's cdk-nag acknowledgement is recorded. */
export interface RoleHolder extends IGrantable {
  readonly role: IConstruct;
}

/**
 * Object access under one key pattern with exactly the actions named: the bucket's
 * `grantRead`/`grantWrite` would add wildcard actions (s3:GetObject*, s3:List*, s3:DeleteObject*).
 */
export function allowObjects(grantee: IGrantable, bucket: IBucket, keyPattern: string, actions: string[]): Grant {
  return Grant.addToPrincipal({ grantee, actions, resourceArns: [bucket.arnForObjects(keyPattern)] });
}

/** ListBucket turns a HeadObject/GetObject on a missing key into 404 instead of 403. */
export function allowList(grantee: IGrantable, bucket: IBucket): Grant {
  return Grant.addToPrincipal({ grantee, actions: ['s3:ListBucket'], resourceArns: [bucket.bucketArn] });
}

/**
 * Item actions on the table, only on items whose partition key matches one of the patterns
 * (`dynamodb:LeadingKeys`, `StringLike`: a partition key, or `startingWith` a prefix; every key
 * of a batch request must match).
 */
export function allowItems(grantee: IGrantable, table: ITable, partitions: string[], actions: string[]): Grant {
  return Grant.addToPrincipal({
    grantee,
    actions,
    resourceArns: [table.tableArn],
    conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': partitions } },
  });
}

/** The `dynamodb:LeadingKeys` pattern of every partition key beginning with `prefix`. */
export function startingWith(prefix: string): string {
  return `${prefix}*`;
}

/** How cdk-nag renders a `Fn::GetAtt [..., Arn]` of the construct's resource in a finding. */
export function arnRef(construct: IConstruct): string {
  return `<${Stack.of(construct).getLogicalId(construct.node.defaultChild as CfnElement)}.Arn>`;
}

/** Acknowledges the wildcard finding of object keys under `keyPattern` of `bucket`, on the function's role. */
export function acknowledgeObjectWildcard(fn: RoleHolder, bucket: IBucket, keyPattern: string, reason: string): void {
  Validations.of(fn.role).acknowledge({ id: `AwsSolutions-IAM5[Resource::${arnRef(bucket)}/${keyPattern}]`, reason });
}
