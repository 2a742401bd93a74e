import { GetObjectCommand, ListObjectVersionsCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { WorkbookLink, WorkbookVersions } from './contract.ts';

/**
 * A workbook's versions and short-lived links to them: the reports bucket's object versions in
 * AWS (versionedWorkbooks); on the local stack, whose S3 emulator keeps no versions, a copy of
 * each workbook written (local/console/versions.ts).
 */
export interface WorkbookStore {
  /** Newest first; none when the workbook was never written. */
  versions(key: string): Promise<WorkbookVersions['versions']>;
  /** A presigned GET of the version (the current one when absent). */
  presign(key: string, versionId: string, expiresInSeconds: number): Promise<string>;
}

export function versionedWorkbooks(s3: S3Client, bucket: string): WorkbookStore {
  return {
    async versions(key) {
      const versions: WorkbookVersions['versions'] = [];
      let keyMarker: string | undefined;
      let versionIdMarker: string | undefined;
      do {
        const page = await s3.send(
          new ListObjectVersionsCommand({
            Bucket: bucket,
            Prefix: key,
            ...(keyMarker ? { KeyMarker: keyMarker } : {}),
            ...(versionIdMarker ? { VersionIdMarker: versionIdMarker } : {}),
          }),
        );
        for (const version of page.Versions ?? []) {
          if (version.Key !== key || !version.VersionId) continue;
          versions.push({
            versionId: version.VersionId,
            lastModified: (version.LastModified ?? new Date(0)).toISOString(),
            bytes: version.Size ?? 0,
            current: version.IsLatest === true,
          });
        }
        keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
        versionIdMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
      } while (keyMarker);
      // A delete marker on top: no version is current.
      return versions.sort((a, b) => b.lastModified.localeCompare(a.lastModified));
    },
    presign(key, versionId, expiresIn) {
      return getSignedUrl(
        s3,
        new GetObjectCommand({
          Bucket: bucket,
          Key: key,
          VersionId: versionId,
          ResponseContentDisposition: attachmentOf(key),
        }),
        { expiresIn },
      );
    },
  };
}

/** Saved under the workbook's own name, whichever version. */
export function attachmentOf(key: string): string {
  return `attachment; filename="${key.split('/').pop()}"`;
}

/** A link to the version asked for (the current one by default), or undefined when there is none. */
export async function workbookLink(
  store: WorkbookStore,
  key: string,
  versionId: string | undefined,
  expiresInSeconds: number,
  now: Date,
): Promise<WorkbookLink | undefined> {
  const versions = await store.versions(key);
  const version = versionId ? versions.find((v) => v.versionId === versionId) : versions.find((v) => v.current);
  if (!version) return undefined;
  return {
    url: await store.presign(key, version.versionId, expiresInSeconds),
    expiresAt: new Date(now.getTime() + expiresInSeconds * 1000).toISOString(),
    versionId: version.versionId,
    bytes: version.bytes,
  };
}
