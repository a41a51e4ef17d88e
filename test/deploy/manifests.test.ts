/**
 * No cluster and no Docker here: the deployment files are parsed (the `yaml` package) and their
 * structure checked against what gradlab needs: every kustomize resource exists; API and worker
 * Deployments with probes on the health routes (a startupProbe for model loading), resource
 * requests and limits, a grace period that covers the configured drain; Services, PDBs, an HPA on
 * the queue depth metric that the prometheus-adapter rule defines; a GPU overlay requesting
 * nvidia.com/gpu; and a Compose file with Redis, two API replicas behind a load balancer and two workers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../../scripts/lib/server-process.ts';
import { loadConfig } from '../../src/config.ts';

/* eslint-disable @typescript-eslint/no-explicit-any -- Kubernetes objects, read field by field */
const K8S = path.join(REPO_ROOT, 'deploy/k8s');
const docs = (file: string): any[] => parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJSON());

function kustomized(dir: string): any[] {
  const k = parse(readFileSync(path.join(dir, 'kustomization.yaml'), 'utf8'));
  const out: any[] = [];
  for (const r of k.resources as string[]) {
    const target = path.join(dir, r);
    assert.ok(existsSync(target), `${dir}: resource ${r} exists`);
    out.push(...(existsSync(path.join(target, 'kustomization.yaml')) ? kustomized(target) : docs(target)));
  }
  return out;
}

const base = kustomized(path.join(K8S, 'base'));
const find = (kind: string, name: string) => base.find((o) => o.kind === kind && o.metadata.name === name);
const envOf = (container: any) => Object.fromEntries((container.env as { name: string; value: string }[]).map((e) => [e.name, e.value]));

test('API and worker Deployments: probes on the health routes, resources, a grace period covering the drain', () => {
  for (const [name, port] of [['gradlab-api', 'http'], ['gradlab-worker', 'metrics']] as const) {
    const deployment = find('Deployment', name);
    assert.ok(deployment, name);
    const spec = deployment.spec.template.spec;
    const container = spec.containers[0];
    assert.deepEqual(deployment.spec.selector.matchLabels, deployment.spec.template.metadata.labels, `${name}: the selector matches the pods`);
    assert.equal(container.startupProbe.httpGet.path, '/readyz');
    assert.ok(container.startupProbe.periodSeconds * container.startupProbe.failureThreshold >= 120, `${name}: model loading gets minutes`);
    assert.equal(container.readinessProbe.httpGet.path, '/readyz');
    assert.equal(container.livenessProbe.httpGet.path, '/healthz');
    for (const probe of [container.startupProbe, container.readinessProbe, container.livenessProbe]) assert.equal(probe.httpGet.port, port);
    assert.ok(container.ports.some((p: any) => p.name === port));
    for (const what of ['requests', 'limits']) for (const r of ['cpu', 'memory']) assert.ok(container.resources[what][r], `${name}: ${what}.${r}`);
    const env = envOf(container);
    assert.equal(env.GRADLAB_REDIS_URL, 'redis://redis:6379');
    assert.ok(spec.terminationGracePeriodSeconds * 1000 >= Number(env.GRADLAB_DRAIN_MS) + 15_000, `${name}: the grace period covers the drain and closing`);
  }
  assert.equal(envOf(find('Deployment', 'gradlab-api').spec.template.spec.containers[0]).GRADLAB_RUN_JOBS, 'no');
  assert.deepEqual(find('Deployment', 'gradlab-worker').spec.template.spec.containers[0].command, ['node', '--import', 'tsx', 'scripts/worker.ts']);
});

test('Services select their pods; PDBs keep one of each; the worker HPA scales on the adapter\'s queue metric', () => {
  for (const [service, deployment] of [['gradlab-api', 'gradlab-api'], ['gradlab-worker-metrics', 'gradlab-worker'], ['redis', undefined]] as const) {
    const s = find('Service', service);
    assert.ok(s, service);
    if (deployment) assert.deepEqual(s.spec.selector, find('Deployment', deployment).spec.template.metadata.labels);
  }
  for (const name of ['gradlab-api', 'gradlab-worker']) {
    const pdb = find('PodDisruptionBudget', name);
    assert.deepEqual(pdb.spec.selector.matchLabels, find('Deployment', name).spec.template.metadata.labels);
    assert.equal(pdb.spec.minAvailable, 1);
  }
  const hpa = find('HorizontalPodAutoscaler', 'gradlab-worker');
  assert.equal(hpa.spec.scaleTargetRef.name, 'gradlab-worker');
  const metric = hpa.spec.metrics[0].external.metric.name;
  const adapter = parse(readFileSync(path.join(K8S, 'prometheus-adapter-rules.yaml'), 'utf8'));
  const rule = adapter.rules.external.find((r: any) => r.name.as === metric);
  assert.ok(rule, `prometheus-adapter defines ${metric}`);
  assert.match(rule.seriesQuery, /gradlab_jobs_queue_depth\{state="queued"\}/);
  // The metric the rule reads is the one gradlab exports.
  assert.match(readFileSync(path.join(REPO_ROOT, 'src/jobs/metrics.ts'), 'utf8'), /name: 'gradlab_jobs_queue_depth'/);
});

test('the GPU overlay builds on the base and gives each worker an nvidia.com/gpu', () => {
  const dir = path.join(K8S, 'overlays/gpu');
  const k = parse(readFileSync(path.join(dir, 'kustomization.yaml'), 'utf8'));
  assert.deepEqual(k.resources, ['../../base']);
  for (const patch of k.patches) {
    const [doc] = docs(path.join(dir, patch.path));
    assert.equal(doc.metadata.name, patch.target.name);
    const container = doc.spec.template.spec.containers[0];
    assert.equal(container.name, find('Deployment', 'gradlab-worker').spec.template.spec.containers[0].name, 'the patch names the base container');
    assert.equal(container.resources.limits['nvidia.com/gpu'], '1');
    assert.equal(envOf(container).GRADLAB_BACKEND, 'tensorflow');
  }
});

test('compose: Redis, two API replicas behind a load balancer, two workers, all on one Redis', () => {
  // Compose reads YAML merge keys (the shared `<<: *gradlab`).
  const compose = parse(readFileSync(path.join(REPO_ROOT, 'docker/compose.yaml'), 'utf8'), { merge: true });
  const { redis, api, worker, lb } = compose.services;
  assert.ok(redis.healthcheck);
  assert.equal(api.deploy.replicas, 2);
  assert.equal(worker.deploy.replicas, 2);
  for (const s of [api, worker]) {
    assert.equal(s.environment.GRADLAB_REDIS_URL, 'redis://redis:6379');
    assert.equal(s.depends_on.redis.condition, 'service_healthy');
  }
  assert.equal(api.environment.GRADLAB_RUN_JOBS, 'no');
  assert.equal(loadConfig([], api.environment).trustProxy, 1, 'behind nginx the API believes one X-Forwarded-For hop');
  assert.match(readFileSync(path.join(REPO_ROOT, 'docker/nginx.conf'), 'utf8'), /X-Forwarded-For \$proxy_add_x_forwarded_for/);
  assert.deepEqual(worker.command, ['node', '--import', 'tsx', 'scripts/worker.ts']);
  assert.ok(lb.ports.includes('8080:8080'));
  const nginx = readFileSync(path.join(REPO_ROOT, 'docker', lb.volumes[0].split(':')[0]), 'utf8');
  assert.match(nginx, /server api:8080/);
  assert.match(nginx, /proxy_buffering off/, 'event streams are not buffered');
});
