import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  AgentTokenError,
  type AgentTokenStore,
  createAgentToken,
  listAgents,
  revokeAgentToken,
} from '../functions/agent-upload/tokens.ts';
import { createDynamoDbClient } from '../functions/common/clients.ts';

const usage = `Issues, revokes and lists the Windows agents' tokens, in the stack's DynamoDB table.

Usage: npm run agent-token -- <command> --table NAME [options]

  create --agent ID   issue a token for agent ID (lower-case letters, digits, -); printed once, only its hash is kept
  revoke --agent ID   the agent's token stops working at once
  list                every agent, when its token was issued and whether it was revoked

  --table NAME        the stack output TableName
  --region REGION     default: the AWS CLI's (AWS_REGION, profile)
  --help              this text

Runs with your own AWS credentials: dynamodb:PutItem, UpdateItem and Query on the table.
`;

export interface AgentTokenCommandIo {
  store: AgentTokenStore;
  now: () => Date;
  out: (line: string) => void;
}

/** The command on an open table; the exit code. */
export async function agentTokenCommand(command: string, agentId: string | undefined, io: AgentTokenCommandIo) {
  const needAgent = () => {
    if (!agentId) throw new AgentTokenError(`${command} needs --agent ID`);
    return agentId;
  };
  switch (command) {
    case 'create': {
      const token = await createAgentToken(io.store, needAgent(), io.now());
      io.out(token);
      io.out(`Put this token in the agent's token file; it is not shown again.`);
      return 0;
    }
    case 'revoke':
      await revokeAgentToken(io.store, needAgent(), io.now());
      io.out(`Revoked the token of ${agentId}.`);
      return 0;
    case 'list':
      for (const agent of await listAgents(io.store)) {
        io.out(`${agent.agentId}\tissued ${agent.createdAt}${agent.revokedAt ? `\trevoked ${agent.revokedAt}` : ''}`);
      }
      return 0;
    default:
      throw new AgentTokenError(`Unknown command "${command}": create, revoke or list`);
  }
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      agent: { type: 'string' },
      table: { type: 'string' },
      region: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  const [command] = positionals;
  if (values.help || !command) {
    process.stdout.write(usage);
    return values.help ? 0 : 2;
  }
  if (!values.table) {
    process.stderr.write(`--table is required: the stack output TableName\n\n${usage}`);
    return 2;
  }
  const dynamodb = createDynamoDbClient(values.region ? { region: values.region } : {});
  try {
    return await agentTokenCommand(command, values.agent, {
      store: { dynamodb, table: values.table },
      now: () => new Date(),
      out: (line) => process.stdout.write(`${line}\n`),
    });
  } catch (error) {
    if (!(error instanceof AgentTokenError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 1;
  } finally {
    dynamodb.destroy();
  }
}

// Run as a command, not when a test imports the command's function.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = await main();
