/** The scale-out flags: defaults, a Redis URL that is not one, and `--run-jobs no` without Redis, each refused naming the flag. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../src/config.ts';

test('defaults: no Redis (one host), jobs run in the API process', () => {
  const { jobs } = loadConfig([], {});
  assert.deepEqual(jobs, { ttlS: 3600, attempts: 3, timeoutMs: 600_000, maxQueued: 1000, workerConcurrency: 1, runJobs: true });
});

test('flags and variables set Redis and the job limits', () => {
  const { jobs } = loadConfig(['--redis-url', 'redis://cache:6379/2', '--run-jobs', 'no', '--job-attempts', '5'], { GRADLAB_JOB_TTL_S: '60', GRADLAB_WORKER_CONCURRENCY: '4' });
  assert.deepEqual(jobs, { redisUrl: 'redis://cache:6379/2', ttlS: 60, attempts: 5, timeoutMs: 600_000, maxQueued: 1000, workerConcurrency: 4, runJobs: false });
});

test('bad values are refused naming the flag and the variable', () => {
  const refused = (argv: string[], pattern: RegExp) => assert.throws(() => loadConfig(argv, {}), (err: unknown) => err instanceof ConfigError && pattern.test(err.message));
  refused(['--redis-url', 'http://cache:6379'], /--redis-url \/ GRADLAB_REDIS_URL: 'http:\/\/cache:6379' is not a redis:\/\/ or rediss:\/\/ URL/);
  refused(['--run-jobs', 'no'], /--run-jobs \/ GRADLAB_RUN_JOBS: 'no' needs --redis-url/);
  refused(['--run-jobs', 'maybe'], /--run-jobs/);
  refused(['--job-attempts', '0'], /--job-attempts/);
  refused(['--worker-concurrency', '100'], /--worker-concurrency/);
});
