/**
 * The view's state in the URL's query string, so that a link reproduces what is on screen: the
 * view, model, method and its settings, the chosen gallery image or a drawn digit (its 8-bit
 * pixels, base64url), and `lock`, the teacher's list of controls to hide for a preset exercise.
 */

export type ViewState = Record<string, string>;

export function readState(): ViewState {
  return Object.fromEntries(new URLSearchParams(location.search));
}

let pending: ReturnType<typeof setTimeout> | undefined;

/**
 * Replaces the URL's state (no history entry per slider move) with `state`'s non-empty values.
 * Written at most every 150 ms: browsers throttle pages that call replaceState hundreds of times.
 */
export function writeState(state: ViewState): void {
  clearTimeout(pending);
  pending = setTimeout(() => {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(state)) if (v !== '') params.set(k, v);
    const query = params.toString();
    history.replaceState(null, '', query ? `?${query}` : location.pathname);
  }, 150);
}

/** The controls a teacher's link hides (`lock=model,method`). */
export function lockedControls(state: ViewState): Set<string> {
  return new Set((state.lock ?? '').split(',').map((s) => s.trim()).filter(Boolean));
}

export function bytesToBase64Url(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

export function base64UrlToBytes(text: string): Uint8Array | undefined {
  try {
    const s = atob(text.replaceAll('-', '+').replaceAll('_', '/'));
    return Uint8Array.from(s, (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}
