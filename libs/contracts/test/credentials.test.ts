import { describe, expect, it } from 'vitest';
import {
  FailureCode,
  INTEGRATION_MANAGED,
  isCredentialRejection,
  isIntegrationManaged,
  isRetryableFailure,
  missingCredentials,
} from '../src/index.ts';

const real = { password: 'pw', appKey: 'key', appSecret: 'secret', totpSecret: 'SEED' };

describe('isIntegrationManaged: the password column alone decides', () => {
  it.each([
    [
      'every column the marker',
      { password: INTEGRATION_MANAGED, appKey: INTEGRATION_MANAGED, appSecret: INTEGRATION_MANAGED, totpSecret: INTEGRATION_MANAGED },
      true,
    ],
    ['the marker in the password, real values elsewhere', { ...real, password: INTEGRATION_MANAGED }, true],
    ['the marker in the password, the rest empty', { password: INTEGRATION_MANAGED, appKey: '', appSecret: '', totpSecret: '' }, true],
    [
      'a real password, the marker everywhere else',
      { ...real, appKey: INTEGRATION_MANAGED, appSecret: INTEGRATION_MANAGED, totpSecret: INTEGRATION_MANAGED },
      false,
    ],
    ['real values', real, false],
    ['the marker in another case', { ...real, password: 'integration_managed' }, false],
  ])('%s', (_name, row, managed) => {
    expect(isIntegrationManaged(row)).toBe(managed);
  });
});

describe('missingCredentials', () => {
  it('names the empty columns and those holding the marker, in the order asked', () => {
    expect(missingCredentials(real)).toEqual([]);
    expect(missingCredentials({ ...real, totpSecret: '', appKey: INTEGRATION_MANAGED })).toEqual(['appKey', 'totpSecret']);
    expect(missingCredentials({ ...real, password: '', totpSecret: '' }, ['appKey', 'appSecret'])).toEqual([]);
  });
});

describe('CREDENTIALS_INCOMPLETE', () => {
  it('is not retried and is no rejection of the credentials (IIFL never saw them)', () => {
    expect(FailureCode.CredentialsIncomplete).toBe('CREDENTIALS_INCOMPLETE');
    expect(isRetryableFailure(FailureCode.CredentialsIncomplete)).toBe(false);
    expect(isCredentialRejection(FailureCode.CredentialsIncomplete)).toBe(false);
  });
});
