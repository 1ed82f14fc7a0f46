import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * The linter's rules can fail: each forbidden pattern, linted as if it stood in a real file of the
 * repository, is reported by the rule that guards it, and the allowed counterpart is not.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCHEDULER = 'services/scheduler/src/main.ts';
const CONTRACTS = 'libs/contracts/src/index.ts';
const IMPORT = 'no-restricted-imports';

const floating = 'async function f(): Promise<void> {}\nexport function g(): void {\n  f();\n}\n';
const awaited = 'async function f(): Promise<void> {}\nexport async function g(): Promise<void> {\n  await f();\n}\n';
const longFunction = `export function f(): number {\n${Array.from({ length: 61 }, (_, i) => `  const v${i} = ${i};`).join('\n')}\n  return v0;\n}\n`;
const longFile = Array.from({ length: 251 }, (_, i) => `export const c${i} = ${i};`).join('\n');

/** [what, the file it stands in, its code, the rules that must fire (none: it is allowed)]. */
const CASES: Array<[string, string, string, string[]]> = [
  ['a service importing another service', SCHEDULER, "import '@refresher/persistence';\n", [IMPORT]],
  ["a service's test importing another service", 'services/gateway/test/flow.test.ts', "import '@refresher/iifl-auth';\n", [IMPORT]],
  ['a service importing a lib', SCHEDULER, "import '@refresher/platform';\n", []],
  ['a lib importing a service', CONTRACTS, "import '@refresher/gateway';\n", [IMPORT]],
  ['pg in the gateway', 'services/gateway/src/main.ts', "import 'pg';\n", [IMPORT]],
  ['kysely in a lib', 'libs/platform/src/index.ts', "import 'kysely';\n", [IMPORT]],
  ['kysely in persistence', 'services/persistence/src/main.ts', "import 'kysely';\n", []],
  ['a floating promise', SCHEDULER, floating, ['@typescript-eslint/no-floating-promises']],
  ['an awaited promise', SCHEDULER, awaited, []],
  ['a function over 60 lines', SCHEDULER, longFunction, ['max-lines-per-function']],
  ['a file over 250 lines', CONTRACTS, longFile, ['max-lines']],
];

let eslint: ESLint;
beforeAll(() => {
  eslint = new ESLint({ cwd: ROOT });
});

describe('lint rules', () => {
  it.each(CASES)(
    '%s (%s)',
    async (_what, path, code, rules) => {
      const [result] = await eslint.lintText(code, { filePath: `${ROOT}${path}` });
      expect((result?.messages ?? []).map((m) => m.ruleId ?? m.message)).toEqual(rules);
    },
    60_000,
  );
});
