import {
  CopyObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  paginateListObjectsV2,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { attachmentOf, type WorkbookStore } from '../functions/console-api/workbooks.ts';

/**
 * The reports bucket is versioned in AWS; s3rver keeps no versions (it has no
 * ListObjectVersions and ignores VersionId). So the local stack keeps a copy of each workbook as
 * it is written, under `versions/<key>/<version id>`, and the console lists and links those: the
 * same versions, newest last written, that S3 would keep.
 */
const versionsPrefix = 'versions/';

/** Copies every workbook written to the reports bucket (one PutObject, or a multipart upload completed). */
export function keepReportVersions(s3: S3Client, reportsBucket: string): void {
  let sequence = 0;
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const input = args.input as { Bucket?: string; Key?: string };
      const writes =
        context.commandName === 'PutObjectCommand' || context.commandName === 'CompleteMultipartUploadCommand';
      if (writes && input.Bucket === reportsBucket && input.Key?.startsWith('reports/')) {
        // Sortable and unique: the instant, then a counter for writes in the same millisecond.
        const versionId = `${new Date().toISOString().replace(/[-:.]/g, '')}-${String(sequence++).padStart(6, '0')}`;
        await s3.send(
          new CopyObjectCommand({
            Bucket: reportsBucket,
            Key: `${versionsPrefix}${input.Key}/${versionId}`,
            CopySource: `${reportsBucket}/${input.Key}`,
          }),
        );
      }
      return result;
    },
    { step: 'initialize', name: 'keepReportVersions' },
  );
}

/** The workbook versions the local stack kept; a workbook written before they were kept shows as its one version, `null`. */
export function keptWorkbookVersions(s3: S3Client, reportsBucket: string): WorkbookStore {
  return {
    async versions(key) {
      const Prefix = `${versionsPrefix}${key}/`;
      const versions: Awaited<ReturnType<WorkbookStore['versions']>> = [];
      for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: reportsBucket, Prefix })) {
        for (const object of page.Contents ?? []) {
          if (!object.Key) continue;
          versions.push({
            versionId: object.Key.slice(Prefix.length),
            lastModified: (object.LastModified ?? new Date(0)).toISOString(),
            bytes: object.Size ?? 0,
            current: false,
          });
        }
      }
      versions.sort((a, b) => b.versionId.localeCompare(a.versionId));
      if (versions[0]) {
        versions[0].current = true;
        return versions;
      }
      try {
        const head = await s3.send(new HeadObjectCommand({ Bucket: reportsBucket, Key: key }));
        return [
          {
            versionId: 'null',
            lastModified: (head.LastModified ?? new Date(0)).toISOString(),
            bytes: head.ContentLength ?? 0,
            current: true,
          },
        ];
      } catch (error) {
        if ((error as Error).name === 'NotFound') return [];
        throw error;
      }
    },
    presign(key, versionId, expiresIn) {
      const Key = versionId === 'null' ? key : `${versionsPrefix}${key}/${versionId}`;
      return getSignedUrl(
        s3,
        new GetObjectCommand({ Bucket: reportsBucket, Key, ResponseContentDisposition: attachmentOf(key) }),
        { expiresIn },
      );
    },
  };
}
