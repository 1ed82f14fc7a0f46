import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * The linter's rules can fail: each forbidden pattern, linted as if it stood in a real file of the
 * repository, is reported by the rule that guards it, and the allowed counterpart is not.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let eslint: ESLint;

beforeAll(() => {
  eslint = new ESLint({ cwd: ROOT });
});

/** The rules that fire for `code` standing in place of the file at `path` (relative to the root). */
async function rulesFor(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${ROOT}${path}` });
  return (result?.messages ?? []).map((m) => m.ruleId ?? m.message);
}

describe('lint rules', () => {
  it('a service importing another service is refused; a lib is fine', async () => {
    expect(await rulesFor('services/scheduler/src/main.ts', "import '@refresher/persistence';\n")).toEqual(['no-restricted-imports']);
    expect(await rulesFor('services/gateway/test/flow.test.ts', "import '@refresher/iifl-auth';\n")).toEqual(['no-restricted-imports']);
    expect(await rulesFor('services/scheduler/src/main.ts', "import '@refresher/platform';\n")).toEqual([]);
  }, 60_000);

  it('a lib importing a service is refused', async () => {
    expect(await rulesFor('libs/contracts/src/index.ts', "import '@refresher/gateway';\n")).toEqual(['no-restricted-imports']);
  }, 60_000);

  it('only the database owners open it', async () => {
    expect(await rulesFor('services/gateway/src/main.ts', "import 'pg';\n")).toEqual(['no-restricted-imports']);
    expect(await rulesFor('libs/platform/src/index.ts', "import 'kysely';\n")).toEqual(['no-restricted-imports']);
    expect(await rulesFor('services/persistence/src/main.ts', "import 'kysely';\n")).toEqual([]);
  }, 60_000);

  it('a floating promise is refused; an awaited or voided one is not', async () => {
    const floating = 'async function f(): Promise<void> {}\nexport function g(): void {\n  f();\n}\n';
    expect(await rulesFor('services/scheduler/src/main.ts', floating)).toEqual(['@typescript-eslint/no-floating-promises']);
    const awaited = 'async function f(): Promise<void> {}\nexport async function g(): Promise<void> {\n  await f();\n}\n';
    expect(await rulesFor('services/scheduler/src/main.ts', awaited)).toEqual([]);
  }, 60_000);

  it('a function over 60 lines and a file over 250 lines are refused in source files', async () => {
    const body = Array.from({ length: 61 }, (_, i) => `  const v${i} = ${i};`).join('\n');
    const long = `export function f(): number {\n${body}\n  return v0;\n}\n`;
    expect(await rulesFor('services/scheduler/src/main.ts', long)).toContain('max-lines-per-function');
    const many = Array.from({ length: 251 }, (_, i) => `export const c${i} = ${i};`).join('\n');
    expect(await rulesFor('libs/contracts/src/index.ts', many)).toContain('max-lines');
  }, 60_000);
});
