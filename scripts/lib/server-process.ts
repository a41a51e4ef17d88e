/** Starts `src/http/server.ts` as a real child process on a free port and waits until it listens. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface ServerProcess {
  child: ChildProcess;
  baseUrl: string;
  output: () => string;
  exited: Promise<number | null>;
  stop: () => Promise<number | null>;
}

export function spawnServer(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/http/server.ts', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, GRADLAB_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout.on('data', (d) => (text += d));
  child.stderr.on('data', (d) => (text += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => text, exited };
}

/** Starts the server and resolves once it logs its address (readiness is the caller's to wait for). */
export async function startServer(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<ServerProcess> {
  const proc = spawnServer(['--port', '0', '--host', '127.0.0.1', ...args], env);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const match = proc.output().match(/Server listening at (http:\/\/127\.0\.0\.1:\d+)/);
    if (match) {
      return {
        ...proc,
        baseUrl: match[1]!,
        stop: async () => {
          if (proc.child.exitCode === null) proc.child.kill('SIGTERM');
          return proc.exited;
        },
      };
    }
    if (proc.child.exitCode !== null) throw new Error(`server exited early:\n${proc.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  proc.child.kill('SIGKILL');
  throw new Error(`server did not start within ${timeoutMs} ms:\n${proc.output()}`);
}

export async function waitReady(baseUrl: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const res = await fetch(`${baseUrl}/readyz`).catch(() => undefined);
    if (res?.status === 200) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${baseUrl} was not ready within ${timeoutMs} ms`);
}
