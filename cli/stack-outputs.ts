import {
  type CloudFormationClient,
  DescribeStacksCommand,
  type DescribeStacksCommandOutput,
} from '@aws-sdk/client-cloudformation';

/** The deployed stack's outputs the CLI works with (see lib/charlie-stack.ts). */
export interface StackOutputs {
  DataBucketName: string;
  ReportsBucketName: string;
  DownloadLinkUrl: string;
  TableName: string;
}

/** Reads the outputs of the stack named after the configuration (`cdk deploy` names it `name`). */
export async function stackOutputs(cloudformation: CloudFormationClient, stackName: string): Promise<StackOutputs> {
  let described: DescribeStacksCommandOutput;
  try {
    described = await cloudformation.send(new DescribeStacksCommand({ StackName: stackName }));
  } catch (error) {
    if (/does not exist/.test((error as Error).message)) {
      throw new MissingStackError(
        `No stack named ${stackName} in this account and region: deploy with "npx cdk deploy", or pass --region.`,
      );
    }
    throw error;
  }
  const outputs = Object.fromEntries(
    (described.Stacks?.[0]?.Outputs ?? []).map((output) => [output.OutputKey, output.OutputValue]),
  );
  for (const name of ['DataBucketName', 'ReportsBucketName', 'DownloadLinkUrl', 'TableName'] as const) {
    if (!outputs[name]) {
      throw new MissingStackError(
        `Stack ${stackName} has no output ${name}: deploy this version with "npx cdk deploy".`,
      );
    }
  }
  return outputs as unknown as StackOutputs;
}

/** The stack the command needs is not there (or is an older version): what to do is in the message. */
export class MissingStackError extends Error {
  override name = 'MissingStackError';
}
