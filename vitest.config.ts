import { defineConfig } from 'vitest/config';

// One root config; each workspace package is a project, resolved to its src/ (no build step).
export default defineConfig({
  test: {
    projects: ['libs/*', 'services/*', 'db', 'test'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: a few files at a time keeps servers and services from starving each other.
    maxWorkers: 2,
    fileParallelism: !process.env.TEST_NATS_URL,
    // CI reads the counts from the JSON report to print a plain closing line.
    reporters: process.env.VITEST_JSON_REPORT
      ? ['default', ['json', { outputFile: process.env.VITEST_JSON_REPORT }]]
      : ['default'],
  },
});
