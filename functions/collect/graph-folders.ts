import type { GraphClient } from '../common/graph/client.ts';
import { GraphError } from '../common/graph/error.ts';

const wellKnownFolders = new Set([
  'archive',
  'clutter',
  'conflicts',
  'conversationhistory',
  'deleteditems',
  'drafts',
  'inbox',
  'junkemail',
  'localfailures',
  'msgfolderroot',
  'outbox',
  'recoverableitemsdeletions',
  'scheduled',
  'searchfolders',
  'sentitems',
  'serverfailures',
  'syncissues',
]);

export interface FolderResolver {
  /** The id of a folder path like `Inbox/Genesys`, looked up once and remembered. */
  folderId(path: string): Promise<string>;
}

/**
 * Walks a folder path from the mailbox root, one display name at a time; a path that starts
 * with a well-known name (Inbox, Archive…) starts from that folder.
 */
export function createFolderResolver(graph: GraphClient, userPath: string, mailboxName: string): FolderResolver {
  const folderIds = new Map<string, Promise<string>>();

  async function firstId(url: string, context: string): Promise<string | undefined> {
    const json = await graph.getJson(url, { context });
    const value = isRecord(json) ? json.value : undefined;
    if (!Array.isArray(value)) {
      throw new GraphError(`Unexpected Microsoft Graph response while ${context}: not a collection`, {
        status: 200,
        code: 'UnexpectedResponse',
      });
    }
    return readId(value[0]);
  }

  async function resolve(path: string): Promise<string> {
    const segments = path
      .split('/')
      .map((s) => s.trim())
      .filter(Boolean);
    const context = `resolving mail folder ${path}`;
    let id: string | undefined;
    let walked = '';
    for (const segment of segments) {
      const byName = `$filter=${encodeURIComponent(`displayName eq '${segment.replace(/'/g, "''")}'`)}&$select=id,displayName`;
      const found =
        id === undefined && wellKnownFolders.has(segment.toLowerCase())
          ? readId(
              await graph.getJson(`${userPath}/mailFolders/${segment.toLowerCase()}?$select=id,displayName`, {
                context,
              }),
            )
          : await firstId(
              id === undefined
                ? `${userPath}/mailFolders?${byName}`
                : `${userPath}/mailFolders/${encodeURIComponent(id)}/childFolders?${byName}`,
              context,
            );
      if (found === undefined) {
        throw new GraphError(
          `Mail folder ${path} not found in mailbox ${mailboxName}: no folder "${segment}" ${walked ? `under ${walked}` : 'at the top level'}`,
          { status: 404, code: 'FolderNotFound' },
        );
      }
      id = found;
      walked = walked ? `${walked}/${segment}` : segment;
    }
    if (id === undefined) {
      throw new GraphError(`Mail folder path "${path}" is empty`, { status: 0, code: 'FolderNotFound' });
    }
    return id;
  }

  return {
    folderId(path) {
      let id = folderIds.get(path);
      if (!id) {
        id = resolve(path).catch((error: unknown) => {
          folderIds.delete(path);
          throw error;
        });
        folderIds.set(path, id);
      }
      return id;
    },
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readId(item: unknown): string | undefined {
  return isRecord(item) && typeof item.id === 'string' ? item.id : undefined;
}
