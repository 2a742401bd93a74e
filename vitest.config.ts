import { configDefaults, defineConfig } from 'vitest/config';

/**
 * The unit tests: pure logic, run alone in seconds with `npm run test:unit`. A file belongs here
 * only if it starts no emulator (local/stack.ts, the fake Graph, the link server), synthesizes
 * no CDK app, runs no LibreOffice, browser or child process, and takes about a second; every
 * other test is an integration test. `npm test` runs both.
 */
const unitTests = [
  'test/asl.test.ts',
  'test/collect/manifest.test.ts',
  'test/collect/run.test.ts',
  'test/common/centers.test.ts',
  'test/common/config.test.ts',
  'test/common/handler.test.ts',
  'test/common/time.test.ts',
  'test/console/auth.test.ts',
  'test/deliver/message.test.ts',
  'test/deliver/sharepoint-message.test.ts',
  'test/ingest/csv.test.ts',
  'test/ingest/rows.test.ts',
  'test/link/token.test.ts',
  'test/run-check/run-check.test.ts',
  'test/workbook/merge.test.ts',
  'test/workbook/workbook.test.ts',
];

export default defineConfig({
  test: {
    // Two test files at a time, even on two cores: most integration tests wait on emulators,
    // child processes (LibreOffice, Chromium, cdk synth) or the network as much as they compute.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    projects: [
      { extends: true, test: { name: 'unit', include: unitTests } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...unitTests],
        },
      },
    ],
  },
});
