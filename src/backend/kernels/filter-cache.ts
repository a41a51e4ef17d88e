/**
 * A cache of filters derived from a model's weights (e.g. spatially flipped, channel-swapped) for
 * the input-gradient kernels. Weights are constant between requests, so transforming them once
 * saves the transform and, more importantly, lets XNNPACK keep the operator it packed for the
 * derived filter (the wasm backend caches operators per filter tensor id).
 *
 * Safety: an entry is used only while its source tensor is still alive in the wasm backend with
 * the same internal id (tfjs gives every write or backend move a new id, and tensor data is
 * immutable) and the same shape (reshapes share data). Entries whose source is gone are released
 * on every lookup, and the total size is capped (least recently used entries go first), so
 * disposed weights — e.g. a variable replaced by every training step — never pile up.
 */
import { release, type BackendWasm, type TensorInfo } from './wasm-ops.ts';

interface Entry {
  sourceId: number;
  shapeKey: string;
  derived: TensorInfo;
  bytes: number;
}

const DEFAULT_MAX_BYTES = 256 * 1024 * 1024;

export class DerivedFilterCache {
  // Keyed by the source's dataId object; Map iteration order doubles as recency order.
  private readonly entries = new Map<object, Entry>();
  private totalBytes = 0;

  constructor(
    private readonly backend: BackendWasm,
    private readonly derive: (filter: TensorInfo) => TensorInfo,
    private readonly maxBytes = DEFAULT_MAX_BYTES,
  ) {}

  /**
   * The derived filter for `filter`. The result belongs to the cache: the caller must not release
   * it, and must not keep it beyond the current kernel call.
   */
  get(filter: TensorInfo): TensorInfo {
    this.dropStale();
    const sourceId = this.liveId(filter.dataId);
    if (sourceId === undefined) throw new Error('gradlab wasm filter cache: filter is not on the wasm backend');
    const shapeKey = filter.shape.join(',');
    const hit = this.entries.get(filter.dataId);
    if (hit && hit.sourceId === sourceId && hit.shapeKey === shapeKey) {
      this.entries.delete(filter.dataId); // re-insert as most recently used
      this.entries.set(filter.dataId, hit);
      return hit.derived;
    }
    if (hit) this.remove(filter.dataId, hit);

    const derived = this.derive(filter);
    const bytes = 4 * derived.shape.reduce((a, b) => a * b, 1);
    if (bytes > this.maxBytes) {
      throw new Error('gradlab wasm filter cache: a single filter exceeds the cache size');
    }
    this.entries.set(filter.dataId, { sourceId, shapeKey, derived, bytes });
    this.totalBytes += bytes;
    for (const [key, entry] of this.entries) {
      if (this.totalBytes <= this.maxBytes) break;
      if (key === filter.dataId) continue;
      this.remove(key, entry);
    }
    return derived;
  }

  /** Number of cached derived filters (for tests and diagnostics). */
  get size(): number {
    return this.entries.size;
  }

  /** Releases every cached derived filter. */
  clear(): void {
    for (const [key, entry] of [...this.entries]) this.remove(key, entry);
  }

  private dropStale(): void {
    for (const [key, entry] of [...this.entries]) {
      if (this.liveId(key) !== entry.sourceId) this.remove(key, entry);
    }
  }

  // `has` first: `dataIdMap.get` of an unknown dataId would try to move it from another backend.
  private liveId(dataId: object): number | undefined {
    return this.backend.dataIdMap.has(dataId) ? this.backend.dataIdMap.get(dataId).id : undefined;
  }

  private remove(key: object, entry: Entry): void {
    this.entries.delete(key);
    this.totalBytes -= entry.bytes;
    release(this.backend, entry.derived);
  }
}

/** One cache per backend instance, so a re-created wasm backend never sees stale entries. */
export function cachePerBackend(
  derive: (backend: BackendWasm, filter: TensorInfo) => TensorInfo,
): { of(backend: BackendWasm): DerivedFilterCache; clear(): void } {
  let caches = new WeakMap<BackendWasm, DerivedFilterCache>();
  const live = new Set<DerivedFilterCache>();
  return {
    of(backend) {
      let cache = caches.get(backend);
      if (!cache) {
        cache = new DerivedFilterCache(backend, (filter) => derive(backend, filter));
        caches.set(backend, cache);
        live.add(cache);
      }
      return cache;
    },
    clear() {
      for (const cache of live) cache.clear();
      live.clear();
      caches = new WeakMap();
    },
  };
}
