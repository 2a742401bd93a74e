import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: handler entries and the state machine definition resolve from here, not from the cwd. */
export const repoRoot = fileURLToPath(new URL('..', import.meta.url));

export function fromRoot(...parts: string[]): string {
  return join(repoRoot, ...parts);
}
