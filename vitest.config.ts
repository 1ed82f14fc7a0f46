import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

// One root config; each workspace package is a project named after its package, resolved to its
// src/ (no build step), and inheriting the settings below.
const packageDirs = [
  ...['libs', 'services'].flatMap((group) => readdirSync(group).map((name) => join(group, name))),
  'db',
  'test',
  'bench',
].filter((dir) => existsSync(join(dir, 'package.json')));

export default defineConfig({
  test: {
    projects: packageDirs.map((dir) => ({
      extends: true,
      test: {
        name: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name as string,
        root: dir,
        include: [
          'test/**/*.test.ts',
          'e2e/**/*.test.ts',
          'faults/**/*.test.ts',
          'security/**/*.test.ts',
          'lint/**/*.test.ts',
          'browser/**/*.test.ts',
        ],
      },
    })),
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: a few files at a time keeps servers and services from starving each other.
    maxWorkers: 2,
    fileParallelism: !process.env.TEST_NATS_URL,
    // CI reads the counts from the JSON report to print a plain closing line.
    reporters: process.env.VITEST_JSON_REPORT ? ['default', ['json', { outputFile: process.env.VITEST_JSON_REPORT }]] : ['default'],
  },
});
