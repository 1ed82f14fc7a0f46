// @ts-check
import { readdirSync, readFileSync } from 'node:fs';
import tseslint from 'typescript-eslint';

/**
 * The rules that keep the pieces independent (docs/architecture.md), checked on every commit:
 * services import libs, never each other; libs never import services; only the database's owners
 * open it; no promise is left floating; files and functions stay small.
 */
const serviceNames = readdirSync('services').map((dir) => JSON.parse(readFileSync(`services/${dir}/package.json`, 'utf8')).name);
const serviceDirs = readdirSync('services');
/** Opens PostgreSQL: only db/, persistence and the credentials tool (and test infrastructure) may. */
const DATABASE_PACKAGES = ['pg', 'kysely', '@refresher/db'];

const noImports = (names, message) => ({
  'no-restricted-imports': ['error', { paths: names.map((name) => ({ name, message })) }],
});

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/*.js', '.data/**', 'test-artifacts/**'] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.base],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
    },
  },
  // Source files: one idea each (250 lines), functions that fit on a screen (60 lines).
  {
    files: ['services/*/src/**/*.ts', 'libs/*/src/**/*.ts', 'db/src/**/*.ts', 'bench/src/**/*.ts', 'scripts/**/*.ts'],
    rules: {
      'max-lines': ['error', { max: 250 }],
      'max-lines-per-function': ['error', { max: 60, skipBlankLines: true, skipComments: true }],
    },
  },
  // Libraries never import a service.
  { files: ['libs/**/*.ts'], rules: noImports(serviceNames, 'libs never import services') },
  // A service imports libs, never another service (its tests included).
  ...serviceDirs.map((dir) => {
    const own = JSON.parse(readFileSync(`services/${dir}/package.json`, 'utf8')).name;
    const others = serviceNames.filter((name) => name !== own);
    const database = ['persistence', 'credentials-tool'].includes(dir) ? [] : DATABASE_PACKAGES;
    return {
      files: [`services/${dir}/**/*.ts`],
      rules: {
        'no-restricted-imports': [
          'error',
          {
            paths: [
              ...others.map((name) => ({ name, message: 'services never import each other: use a lib, or NATS' })),
              ...database.map((name) => ({
                name,
                message: 'only persistence opens the database; ask it over NATS (tests: @refresher/testkit)',
              })),
            ],
          },
        ],
      },
    };
  }),
  // Libraries other than the test kit do not open the database either.
  {
    files: ['libs/*/src/**/*.ts'],
    ignores: ['libs/testkit/**'],
    rules: noImports([...serviceNames, ...DATABASE_PACKAGES], 'libs never import services, and only persistence opens the database'),
  },
);
