import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

/**
 * deploy/prometheus and deploy/grafana are read by tools this repository does not run (promtool is
 * not installed): they are checked here for shape, and for naming only metrics the services define
 * and only targets docker-compose.yml runs.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** Metric names the code defines: `${METRIC_PREFIX}name` in the platform's and each service's metrics.ts. */
function definedMetrics(): Set<string> {
  const files = [
    'libs/platform/src/metrics.ts',
    ...readdirSync(join(ROOT, 'services'))
      .map((s) => `services/${s}/src/metrics.ts`)
      .filter((f) => {
        try {
          return read(f).length > 0;
        } catch {
          return false;
        }
      }),
  ];
  return new Set(files.flatMap((f) => [...read(f).matchAll(/\$\{METRIC_PREFIX\}([a-z0-9_]+)/g)].map((m) => `refresher_${m[1]}`)));
}

/** Whether `name` (as a query uses it: a histogram with its `_bucket`, `_count` or `_sum`) is defined. */
function isDefined(name: string, defined: Set<string>): boolean {
  // Node's default metrics, prefixed by createMetricsRegistry.
  if (/^refresher_(process|nodejs)_/.test(name)) return true;
  return defined.has(name) || defined.has(name.replace(/_(bucket|count|sum)$/, ''));
}

const metricsIn = (text: string) => [...new Set(text.match(/\brefresher_[a-z0-9_]+/g) ?? [])];

interface Rule {
  alert: string;
  expr: string;
  for: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

describe('monitoring files', () => {
  const defined = definedMetrics();

  it('alert rules: each has expr, for, a severity and a summary, over metrics the services define', () => {
    const file = parse(read('deploy/prometheus/alerts.yml')) as { groups: Array<{ name: string; rules: Rule[] }> };
    const rules = file.groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.alert)).toEqual(expect.arrayContaining(['MorningNotComplete', 'CredentialRejected', 'IiflErrorRate']));
    for (const rule of rules) {
      expect(rule.expr, rule.alert).toMatch(/\S/);
      expect(rule.for, rule.alert).toMatch(/^\d+[smh]$/);
      expect(rule.labels.severity, rule.alert).toMatch(/^(critical|warning)$/);
      expect(rule.annotations.summary, rule.alert).toMatch(/\S/);
      expect(rule.annotations.description, rule.alert).toMatch(/\S/);
      for (const name of metricsIn(rule.expr)) expect(isDefined(name, defined), `${rule.alert}: ${name}`).toBe(true);
    }
    expect(new Set(rules.map((r) => r.alert)).size).toBe(rules.length);
  });

  it('dashboard: panels with unique ids, each querying metrics the services define', () => {
    const dashboard = JSON.parse(read('deploy/grafana/refresher-dashboard.json')) as {
      uid: string;
      panels: Array<{ id: number; title: string; targets: Array<{ expr: string }> }>;
    };
    expect(dashboard.uid).toMatch(/\S/);
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
    const used = new Set<string>();
    for (const panel of dashboard.panels) {
      expect(panel.targets.length, panel.title).toBeGreaterThan(0);
      for (const { expr } of panel.targets) for (const name of metricsIn(expr)) used.add(name);
    }
    for (const name of used) expect(isDefined(name, defined), name).toBe(true);
    // Every metric the services define is on the dashboard.
    for (const name of defined)
      expect(
        [...used].some((u) => u === name || u.startsWith(`${name}_`)),
        name,
      ).toBe(true);
  });

  it('scrape config: each target is a docker-compose service at its HTTP or health port', () => {
    const config = parse(read('deploy/prometheus/prometheus.yml')) as {
      rule_files: string[];
      scrape_configs: Array<{ metrics_path: string; static_configs: Array<{ targets: string[] }> }>;
    };
    expect(config.rule_files).toContain('alerts.yml');
    const compose = parse(read('docker-compose.yml'), { merge: true }) as {
      services: Record<string, { environment?: Record<string, string> }>;
    };
    const targets = config.scrape_configs.flatMap((c) => c.static_configs.flatMap((s) => s.targets));
    const portOf = (service: string) => {
      const env = compose.services[service]?.environment ?? {};
      return env.HEALTH_PORT ?? env.PORT;
    };
    for (const service of ['gateway', 'persistence', 'scheduler', 'iifl-auth']) expect(targets).toContain(`${service}:${portOf(service)}`);
    for (const target of targets) {
      const [service, port] = target.split(':');
      // A target the compose file does not run yet is left out of this check.
      if (compose.services[service!]) expect(portOf(service!), target).toBe(port);
    }
  });
});
