import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { parseAgentToken } from '../../functions/agent-upload/contract.ts';

/** `agent.config.json`: where to push, what to read. Relative paths are from the file's own folder. */
const agentConfigSchema = z
  .object({
    /** The stack output AgentEndpointUrl. */
    endpoint: z.url(),
    /** A file holding this agent's token `<agentId>.<secret>` and nothing else. */
    tokenFile: z.string().min(1).default('token.txt'),
    outlook: z
      .object({
        /** SMTP address of the account or shared mailbox holding the folder; default: the profile's default mailbox. */
        account: z.email().optional(),
        /** Folder path from the mailbox root, as `mailbox.folder` in the cloud configuration. */
        folder: z.string().min(1),
      })
      .strict(),
    /** How far back a run looks: received time in Outlook, modification time with --from-folder. */
    windowHours: z
      .number()
      .int()
      .min(1)
      .max(24 * 14)
      .default(72),
    stateFile: z.string().min(1).default('state.json'),
    logFile: z.string().min(1).default('logs/agent.log'),
  })
  .strict();

export type AgentConfig = z.infer<typeof agentConfigSchema> & {
  /** The configuration file, absolute. */
  path: string;
};

export class AgentConfigError extends Error {
  override name = 'AgentConfigError';
}

/** Reads and checks the configuration; the error names each bad field. Paths come back absolute. */
export function loadAgentConfig(path: string): AgentConfig {
  const absolute = resolve(path);
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(absolute, 'utf8').replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new AgentConfigError(`Cannot read the agent configuration ${absolute}: ${(error as Error).message}`);
  }
  const parsed = agentConfigSchema.safeParse(value);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new AgentConfigError(`Invalid agent configuration ${absolute}:\n${lines.join('\n')}`);
  }
  const folder = dirname(absolute);
  const config = parsed.data;
  return {
    ...config,
    path: absolute,
    tokenFile: resolve(folder, config.tokenFile),
    stateFile: resolve(folder, config.stateFile),
    logFile: resolve(folder, config.logFile),
  };
}

/** The agent's token, from its file (saved by Notepad or PowerShell: a BOM or a line break may follow it). */
export function readToken(config: AgentConfig): string {
  let text: string;
  try {
    text = readFileSync(config.tokenFile, 'utf8');
  } catch (error) {
    throw new AgentConfigError(`Cannot read the agent token ${config.tokenFile}: ${(error as Error).message}`);
  }
  const token = text.replace(/^\uFEFF/, '').trim();
  if (!parseAgentToken(token)) {
    throw new AgentConfigError(
      `${config.tokenFile} does not hold a token as printed by "npm run agent-token -- create"`,
    );
  }
  return token;
}
