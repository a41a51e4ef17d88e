/**
 * Scale-out settings: the Redis that budgets, windows, the query log and the job queue share
 * across replicas (none: one host, SQLite and an in-process queue, as before), and the jobs'
 * own limits (how long results are kept, how many attempts, their time limit, how many may wait).
 * Declared here and joined into gradlab's configuration by src/config.ts.
 */
import { ConfigError, type Option, type OptionReader } from '../options.ts';

export interface JobsConfig {
  /** `redis://…`: budgets and the job queue live in Redis, shared by every replica and worker. */
  redisUrl?: string;
  /** Seconds a finished job (its result or error) stays readable. */
  ttlS: number;
  /** Times a job is tried when the worker running it dies (1: never retried). */
  attempts: number;
  /** Longest a job may run, in milliseconds (its own limit, longer than a request's). */
  timeoutMs: number;
  /** Most jobs waiting at once; beyond it a new job is refused 503 with Retry-After. */
  maxQueued: number;
  /** Jobs one worker process runs at once (`npm run worker`): its heavy worker threads. */
  workerConcurrency: number;
  /** Whether this API process runs queued jobs itself (without Redis it must; with Redis, workers may do it all). */
  runJobs: boolean;
}

export const JOBS_OPTIONS = {
  redisUrl: { flag: '--redis-url', env: 'GRADLAB_REDIS_URL', describe: 'redis://host:port: budgets, rate limits, query log and jobs shared across replicas (default: none, one host)' },
  jobTtlS: { flag: '--job-ttl-s', env: 'GRADLAB_JOB_TTL_S', describe: 'seconds a finished job\'s result is kept (default 3600)' },
  jobAttempts: { flag: '--job-attempts', env: 'GRADLAB_JOB_ATTEMPTS', describe: 'tries per job when its worker dies (default 3)' },
  jobTimeoutMs: { flag: '--job-timeout-ms', env: 'GRADLAB_JOB_TIMEOUT_MS', describe: 'time limit of one job (default 600000)' },
  jobQueueMax: { flag: '--job-queue-max', env: 'GRADLAB_JOB_QUEUE_MAX', describe: 'most jobs waiting before new ones get 503 (default 1000)' },
  workerConcurrency: { flag: '--worker-concurrency', env: 'GRADLAB_WORKER_CONCURRENCY', describe: 'jobs one `npm run worker` process runs at once (default 1)' },
  runJobs: { flag: '--run-jobs', env: 'GRADLAB_RUN_JOBS', describe: 'yes|no: this API process runs queued jobs itself (default yes; with --redis-url, no leaves them to workers)' },
} satisfies Record<string, Option>;

export type JobsOption = keyof typeof JOBS_OPTIONS;

export function jobsConfig({ raw, where, int, oneOf }: OptionReader<JobsOption>): JobsConfig {
  const redisUrl = raw('redisUrl');
  if (redisUrl !== undefined && !/^rediss?:\/\/\S+$/.test(redisUrl)) {
    throw new ConfigError(`${where('redisUrl')}: '${redisUrl}' is not a redis:// or rediss:// URL`);
  }
  const runJobs = oneOf('runJobs', ['yes', 'no'] as const, 'yes') === 'yes';
  if (!runJobs && !redisUrl) throw new ConfigError(`${where('runJobs')}: 'no' needs --redis-url (without Redis no other process can run this one's jobs)`);
  return {
    ...(redisUrl ? { redisUrl } : {}),
    ttlS: int('jobTtlS', 3600, 1, 30 * 24 * 3600),
    attempts: int('jobAttempts', 3, 1, 100),
    timeoutMs: int('jobTimeoutMs', 600_000, 100, 24 * 3_600_000),
    maxQueued: int('jobQueueMax', 1000, 1, 10_000_000),
    workerConcurrency: int('workerConcurrency', 1, 1, 64),
    runJobs,
  };
}
