import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

/**
 * docker-compose.cluster.yml repeats docker-compose.yml's services with a cluster in place of the
 * single nats-server (there is no Docker engine here to run either): the two are kept in step.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  ports?: string[];
  deploy?: unknown;
  volumes?: string[];
  environment?: Record<string, string>;
}

function servicesOf(file: string): Record<string, Service> {
  return (parse(readFileSync(join(ROOT, file), 'utf8'), { merge: true }) as { services: Record<string, Service> }).services;
}

const single = servicesOf('docker-compose.yml');
const cluster = servicesOf('docker-compose.cluster.yml');
const CLUSTER_NODES = ['nats-1', 'nats-2', 'nats-3'];
/** What the cluster file sets differently for every service that talks to NATS. */
const CLUSTER_ONLY = ['NATS_URL', 'STREAM_REPLICAS'];

describe('docker-compose.cluster.yml', () => {
  it('runs every service of docker-compose.yml but its nats, the same way', () => {
    const apps = Object.keys(single).filter((name) => name !== 'nats');
    expect(Object.keys(cluster).sort()).toEqual([...apps, ...CLUSTER_NODES].sort());
    for (const name of apps) {
      const { environment: ownEnv = {}, ...own } = single[name]!;
      const { environment: clusterEnv = {}, ...inCluster } = cluster[name]!;
      const strip = ({ depends_on: _, ...rest }: Service & { depends_on?: unknown }) => rest;
      expect(strip(inCluster), name).toEqual(strip(own));
      const without = (env: Record<string, string>) => Object.fromEntries(Object.entries(env).filter(([k]) => !CLUSTER_ONLY.includes(k)));
      expect(without(clusterEnv), name).toEqual(without(ownEnv));
      if (ownEnv['NATS_URL']) {
        expect(clusterEnv['NATS_URL']!.split(','), name).toEqual(CLUSTER_NODES.map((n) => `nats://${n}:4222`));
        expect(clusterEnv['STREAM_REPLICAS'], name).toBe('3');
      }
    }
  });

  it('gives each node a config of its own that names it and includes the shared identities', () => {
    for (const node of CLUSTER_NODES) {
      const config = cluster[node]!.command!.at(-1)!.replace('/etc/nats/', 'deploy/nats/');
      expect(existsSync(join(ROOT, config)), config).toBe(true);
      const text = readFileSync(join(ROOT, config), 'utf8');
      expect(text).toMatch(new RegExp(`^server_name: ${node}$`, 'm'));
      expect(text).toMatch(/^include \.\.\/accounts\.conf$/m);
      for (const other of CLUSTER_NODES) expect(text).toContain(`nats-route://${other}:6222`);
    }
    expect(readFileSync(join(ROOT, 'deploy/nats/nats.conf'), 'utf8')).toMatch(/^include \.\/accounts\.conf$/m);
  });
});
