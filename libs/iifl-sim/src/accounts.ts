import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { SimAccount } from './types.ts';

const BASE32 = /^[A-Z2-7]+=*$/i;

export const SimAccountSchema = z
  .object({
    clientId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'clientId must be 1-64 of A-Z a-z 0-9 _ -'),
    password: z.string().min(1),
    appKey: z.string().min(1),
    appSecret: z.string().min(1),
    totpSecret: z
      .string()
      .transform((s) => s.replace(/\s+/g, ''))
      .pipe(z.string().min(16, 'totpSecret must be at least 16 base32 characters').regex(BASE32, 'totpSecret must be base32 (A-Z, 2-7)')),
    blocked: z.boolean().optional(),
  })
  .strict();

export const SimAccountListSchema = z.array(SimAccountSchema);

export function toAccount(parsed: z.infer<typeof SimAccountSchema>): SimAccount {
  const account: SimAccount = {
    clientId: parsed.clientId,
    password: parsed.password,
    appKey: parsed.appKey,
    appSecret: parsed.appSecret,
    totpSecret: parsed.totpSecret,
  };
  if (parsed.blocked !== undefined) account.blocked = parsed.blocked;
  return account;
}

const DEMO: readonly SimAccount[] = Object.freeze([
  {
    clientId: 'DEMO001',
    password: 'demo-pass-1',
    appKey: 'demo-app-key-1',
    appSecret: 'demo-app-secret-1',
    totpSecret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP',
  },
  {
    clientId: 'DEMO002',
    password: 'demo-pass-2',
    appKey: 'demo-app-key-2',
    appSecret: 'demo-app-secret-2',
    totpSecret: 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ',
  },
  {
    clientId: 'DEMO003',
    password: 'demo-pass-3',
    appKey: 'demo-app-key-3',
    appSecret: 'demo-app-secret-3',
    totpSecret: 'MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U',
  },
  {
    clientId: 'DEMO004',
    password: 'demo-pass-4',
    appKey: 'demo-app-key-4',
    appSecret: 'demo-app-secret-4',
    totpSecret: 'ONSWG4TFOQYTEMZUGU3DOOBZGAYTEMZU',
    blocked: true,
  },
]);

/** Built-in demo accounts (DEMO004 is blocked). Demo values, safe to print. */
export function demoAccounts(): SimAccount[] {
  return DEMO.map((a) => ({ ...a }));
}

const BASE32_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** `count` deterministic accounts (`SIM000001`, ...) for benchmarks; same seed, same accounts. */
export function generateAccounts(count: number, seed = 'iifl-sim'): SimAccount[] {
  if (!Number.isInteger(count) || count < 0) throw new RangeError('count must be a non-negative integer');
  const width = Math.max(6, String(count).length);
  const accounts: SimAccount[] = [];
  for (let i = 1; i <= count; i++) {
    const clientId = `SIM${String(i).padStart(width, '0')}`;
    const digest = createHash('sha256').update(`${seed}\0${clientId}`).digest();
    const hex = digest.toString('hex');
    let totpSecret = '';
    for (let j = 0; j < 32; j++) totpSecret += BASE32_ALPHABET[digest[j]! & 31];
    accounts.push({
      clientId,
      password: `pw-${hex.slice(0, 12)}`,
      appKey: `ak-${hex.slice(12, 28)}`,
      appSecret: `as-${hex.slice(28, 52)}`,
      totpSecret,
    });
  }
  return accounts;
}
