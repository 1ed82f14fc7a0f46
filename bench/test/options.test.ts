import { describe, expect, it } from 'vitest';
import { parseOptions, UsageError } from '../src/options.ts';

const parse = (...argv: string[]) => parseOptions(argv, '/work');

describe('bench options', () => {
  it('defaults to one nats-server', () => {
    expect(parse().natsCluster).toBeNull();
    expect(parse('--users', '10').natsCluster).toBeNull();
  });

  it('takes --nats-cluster 3 to 5', () => {
    expect(parse('--nats-cluster', '3').natsCluster).toBe(3);
    expect(parse('--nats-cluster=5', '--users', '10')).toMatchObject({ natsCluster: 5, users: 10 });
  });

  it.each([['1'], ['2'], ['6'], ['three'], ['']])('refuses --nats-cluster %j', (value) => {
    expect(() => parse('--nats-cluster', value)).toThrow(UsageError);
  });

  it('resolves paths from the directory pnpm ran in', () => {
    expect(parse('--json', 'out.json').json).toBe('/work/out.json');
  });
});
