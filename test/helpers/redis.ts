/**
 * A real `redis-server` (the Debian package) for tests: started on a free port in a temporary
 * directory with persistence off, stopped in `t.after`. `stop()` and `restart()` let a test take
 * Redis away from running gradlab processes and bring it back on the same port.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';

export interface RedisServer {
  port: number;
  url: string;
  /** Stops the server (SIGTERM, waits for it to exit). */
  stop(): Promise<void>;
  /** Starts it again on the same port (empty: persistence is off). */
  restart(): Promise<void>;
}

/** A skip reason when `redis-server` is not installed (`apt-get install redis-server`), else false. */
export const NO_REDIS: string | false = spawnSync('redis-server', ['--version']).status === 0 ? false : 'redis-server is not installed (apt-get install redis-server; .ci/run installs it)';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function launch(port: number, dir: string): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const until = Date.now() + 10_000;
  while (!/Ready to accept connections/.test(output)) {
    if (child.exitCode !== null) throw new Error(`redis-server exited: ${output}`);
    if (Date.now() > until) {
      child.kill('SIGKILL');
      throw new Error(`redis-server did not start: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return child;
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startRedis(t: TestContext): Promise<RedisServer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'gradlab-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined = await launch(port, dir);
  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running) return;
    running.kill('SIGTERM');
    await exited(running);
  };
  t.after(async () => {
    await stop();
    await rm(dir, { recursive: true, force: true });
  });
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop,
    async restart() {
      await stop();
      child = await launch(port, dir);
    },
  };
}
