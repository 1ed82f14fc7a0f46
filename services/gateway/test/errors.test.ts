import { describe, expect, it } from 'vitest';
import { ServiceCallError } from '@refresher/platform';
import { expectServiceErrors, toErrorAnswer, UNAVAILABLE_MESSAGE } from '../src/http/errors.ts';

const serviceError = (code: number, message = 'refused') => new ServiceCallError('persistence.x', code, message);

/** The answer a route gives when its call failed with `err` and it expects the 404 and the 409. */
function answerOf(err: unknown) {
  try {
    expectServiceErrors({ NotFound: 'User not found', Conflict: 'User exists already' })(err);
  } catch (thrown) {
    return toErrorAnswer(thrown);
  }
  throw new Error('expectServiceErrors returned');
}

describe('service errors to HTTP', () => {
  it.each([
    ['an expected 404, with the route message', serviceError(404), { status: 404, error: 'User not found', internal: false }],
    ['an expected 409, with the route message', serviceError(409), { status: 409, error: 'User exists already', internal: false }],
    [
      'an unexpected 400, with the service description',
      serviceError(400, 'invalid request: userID'),
      { status: 400, error: 'invalid request: userID', internal: false },
    ],
    [
      'an unexpected 403, as the service said',
      serviceError(403, 'WRONG_ACCOUNT'),
      { status: 403, error: 'WRONG_ACCOUNT', internal: false },
    ],
    ['a 500, as unavailable', serviceError(500), { status: 503, error: UNAVAILABLE_MESSAGE, internal: true }],
    ['no answer in time (503)', serviceError(503, 'no answer'), { status: 503, error: UNAVAILABLE_MESSAGE, internal: true }],
    ['anything else, as an internal error', new Error('boom'), { status: 500, error: 'Internal error', internal: true }],
  ])('answers %s', (_what, err, answer) => {
    expect(answerOf(err)).toEqual(answer);
  });

  it('says only "Not found" for a 404 no route expected', () => {
    expect(toErrorAnswer(serviceError(404, 'user A1 not found'))).toEqual({ status: 404, error: 'Not found', internal: false });
  });
});
