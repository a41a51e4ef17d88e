/**
 * gradlab's import graph, for the architecture test: every import of every source file (static
 * `import` and `export … from`, `import type`, dynamic `import()` with a string literal, and
 * `require()` in .cjs files), read with TypeScript's own pre-processor so that comments and
 * strings that merely look like imports do not count; relative imports resolved to repository
 * paths; and a cycle finder that returns each cycle as a readable path.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const SOURCE = /\.(tsx?|cts|mts|js|cjs|mjs)$/;

/** The module specifiers a source text imports, in order. */
export function importSpecifiers(source: string): string[] {
  return ts.preProcessFile(source, true, true).importedFiles.map((f) => f.fileName);
}

/** Source files under `dirs` (relative to `root`), as repository paths with forward slashes. */
export function sourceFiles(root: string, dirs: string[]): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const entry of readdirSync(path.join(root, rel)).sort()) {
      const child = `${rel}/${entry}`;
      if (statSync(path.join(root, child)).isDirectory()) walk(child);
      else if (SOURCE.test(entry) && !entry.endsWith('.d.ts')) out.push(child);
    }
  };
  for (const dir of dirs) walk(dir);
  return out;
}

export interface ImportEdge {
  from: string;
  /** A repository path for relative imports, else the package specifier (`fastify`, `node:fs`). */
  to: string;
  external: boolean;
}

/** Resolves a relative specifier against the importing file; tries the extension-less forms too. */
function resolveRelative(root: string, from: string, specifier: string): string {
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier));
  for (const candidate of [base, `${base}.ts`, `${base}/index.ts`]) {
    try {
      if (statSync(path.join(root, candidate)).isFile()) return candidate;
    } catch {
      // not this form
    }
  }
  return base;
}

/** Every import of `files`, relative ones resolved. */
export function importEdges(root: string, files: string[]): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const from of files) {
    for (const specifier of importSpecifiers(readFileSync(path.join(root, from), 'utf8'))) {
      const relative = specifier.startsWith('./') || specifier.startsWith('../');
      edges.push({ from, to: relative ? resolveRelative(root, from, specifier) : specifier, external: !relative });
    }
  }
  return edges;
}

export type Graph = Map<string, string[]>;

export function graphOf(edges: { from: string; to: string }[]): Graph {
  const graph: Graph = new Map();
  for (const { from, to } of edges) {
    if (!graph.has(to)) graph.set(to, []);
    const targets = graph.get(from) ?? [];
    if (!targets.includes(to)) targets.push(to);
    graph.set(from, targets);
  }
  return graph;
}

/**
 * One cycle per strongly connected component that has one (Tarjan), each as a path that starts
 * and ends at the same node: `['a', 'b', 'a']`. Empty when the graph has no cycle.
 */
export function findCycles(graph: Graph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let next = 0;
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      components.push(component);
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  const cycles: string[][] = [];
  for (const component of components) {
    const start = component.sort()[0]!;
    const selfLoop = graph.get(start)?.includes(start);
    if (component.length === 1 && !selfLoop) continue;
    cycles.push(selfLoop ? [start, start] : [...shortestPath(graph, new Set(component), start), start]);
  }
  return cycles;
}

/** Breadth-first path from `start` back to `start` within `members` (without the final repeat). */
function shortestPath(graph: Graph, members: Set<string>, start: string): string[] {
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const pathBack = [v];
        while (pathBack[0] !== start) pathBack.unshift(previous.get(pathBack[0]!)!);
        return pathBack;
      }
      if (!previous.has(w) && w !== start) {
        previous.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start];
}
