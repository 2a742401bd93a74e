/** The ingest function's memory (MB). */
export const INGEST_MEMORY_MB = 1024;

/**
 * Heap flags for the ingest function's Node.js process. Left to itself, the Lambda runtime's
 * bootstrap (only when NODE_OPTIONS sets neither flag) gives new space a tenth of the memory,
 * three semi-spaces of 34 MB at 1,024 MB: ingest's garbage is short-lived rows and SDK
 * requests, and a young generation that large is mostly garbage waiting, 90 MB of peak RSS
 * over a 16 MB semi-space for the same speed (docs/benchmarks.md). Old space keeps the
 * runtime's share, the memory less a tenth.
 */
export const INGEST_HEAP_FLAGS = [
  '--max-semi-space-size=16',
  `--max-old-space-size=${INGEST_MEMORY_MB - Math.floor(INGEST_MEMORY_MB / 10)}`,
] as const;
