/**
 * The script every pthread of the threaded wasm backend runs (see threaded-wasm.ts).
 *
 * tfjs-backend-wasm ships Emscripten's pthread worker only as a string, meant for a `blob:` URL,
 * which Node's worker_threads cannot start. This file runs that same source from disk. Its newlines
 * are re-escaped exactly as tfjs does before it builds its Blob: the source's string literals hold
 * "\n" escapes that the package's template literal turned into real newlines.
 */
'use strict';
const { wasmWorkerContents } = require('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js');

new Function('require', '__filename', wasmWorkerContents.replace(/\n/g, '\\n'))(require, __filename);
