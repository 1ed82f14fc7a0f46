import { describe, expect, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import {
  FailureCode,
  IiflAuthApi,
  PersistenceApi,
  RefreshRequested,
  StartRunRequest,
  Subjects,
  TokenFailed,
  UserId,
  isRetryableFailure,
  type Endpoint,
  type EndpointRequest,
  type EndpointResponse,
  type RunSummaryPage,
} from '../src/index.ts';

describe('user ids', () => {
  it.each(['28748327', 'AB12_cd-9', '2a66c354-2cfa-467c-a14b-da76a6ca13c7'])('accepts %s', (id) => {
    expect(UserId.safeParse(id).success).toBe(true);
  });
  it.each(['', 'a.b', 'a*', 'a>', 'a b', 'a/b', '../x', 'x'.repeat(65), 'é'])('rejects %j', (id) => {
    expect(UserId.safeParse(id).success).toBe(false);
  });
  it('refuses to build a subject from an unsafe id', () => {
    expect(() => Subjects.refreshed('a.>')).toThrow(TypeError);
    expect(Subjects.refreshed('28748327')).toBe('tokens.refreshed.28748327');
  });
});

describe('events', () => {
  it('rejects unknown fields and wrong versions', () => {
    const ok = {
      v: 1,
      eventId: 'e1',
      runId: 'r1',
      userID: 'u1',
      trigger: 'api',
      requestedAt: '2026-11-30T03:00:00.000Z',
    };
    expect(RefreshRequested.safeParse(ok).success).toBe(true);
    expect(RefreshRequested.safeParse({ ...ok, v: 2 }).success).toBe(false);
    expect(RefreshRequested.safeParse({ ...ok, extra: 1 }).success).toBe(false);
    expect(TokenFailed.safeParse({ ...ok, code: 'NOPE' }).success).toBe(false);
  });
  it('marks credential rejections as not retryable', () => {
    expect(isRetryableFailure(FailureCode.BadCredentials)).toBe(false);
    expect(isRetryableFailure(FailureCode.Timeout)).toBe(true);
  });
});

describe('endpoint table', () => {
  const services = [PersistenceApi, IiflAuthApi];
  const endpoints = services.flatMap((api) => Object.values(api).filter((entry): entry is Endpoint => typeof entry === 'object'));

  it('gives each endpoint its own subject, under its service, and its own services-API name', () => {
    for (const api of services) {
      for (const entry of Object.values(api)) {
        if (typeof entry === 'object') expect(entry.subject.startsWith(`${api.serviceName}.`)).toBe(true);
      }
    }
    expect(new Set(endpoints.map((e) => e.subject)).size).toBe(endpoints.length);
    expect(new Set(endpoints.map((e) => e.name)).size).toBe(endpoints.length);
  });

  it('types a call and its answer from the entry', () => {
    expectTypeOf<EndpointRequest<typeof PersistenceApi.startRun>>().toEqualTypeOf<z.input<typeof StartRunRequest>>();
    expectTypeOf<EndpointResponse<typeof PersistenceApi.getRun>>().toEqualTypeOf<RunSummaryPage>();
  });
});
