/**
 * The nodes of a TF.js graph model as `tensorflowjs_converter` writes them in model.json
 * (`modelTopology.node`: name, op, inputs, attributes in TensorFlow's AttrValue JSON), and typed
 * readers for the attributes gradlab's graph interpreter needs (graph-ops.ts).
 */

/** One AttrValue: strings are base64, integers are decimal strings, lists hold either. */
export interface AttrValue {
  s?: string;
  i?: string | number;
  f?: number;
  b?: boolean;
  type?: string;
  list?: { s?: string[]; i?: (string | number)[]; f?: number[] };
  tensor?: unknown;
  shape?: unknown;
}

export interface GraphNodeDef {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, AttrValue>;
}

/** A node's inputs as node names: `^control` inputs dropped, `name:0` → `name`; other outputs are kept as `name:k`. */
export function dataInputs(node: GraphNodeDef): string[] {
  return (node.input ?? []).filter((i) => !i.startsWith('^')).map((i) => i.replace(/:0$/, ''));
}

const decode = (s: string) => Buffer.from(s, 'base64').toString('utf8');

export class NodeAttrs {
  constructor(private readonly node: GraphNodeDef) {}

  private get(key: string): AttrValue | undefined {
    return this.node.attr?.[key];
  }

  string(key: string, fallback: string): string {
    const v = this.get(key)?.s;
    return v === undefined ? fallback : decode(v);
  }

  strings(key: string): string[] {
    return (this.get(key)?.list?.s ?? []).map(decode);
  }

  int(key: string, fallback: number): number {
    const v = this.get(key)?.i;
    return v === undefined ? fallback : Number(v);
  }

  ints(key: string, fallback: number[]): number[] {
    const v = this.get(key)?.list?.i;
    return v === undefined || v.length === 0 ? fallback : v.map(Number);
  }

  float(key: string, fallback: number): number {
    return this.get(key)?.f ?? fallback;
  }

  bool(key: string, fallback = false): boolean {
    return this.get(key)?.b ?? fallback;
  }
}
