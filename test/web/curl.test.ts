/**
 * web/curl.ts: "copy as curl" must give back, through a real shell, exactly the request the page
 * sent: the JSON body byte for byte (quotes, apostrophes, newlines, non-ASCII), the headers, and a
 * reference to request.json when the body is too large to inline.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { curlFor } from '../../web/curl.ts';

/** The words bash makes of the command, with `curl` swapped for printf so nothing is sent. */
function shellWords(command: string): string[] {
  assert.ok(command.startsWith('curl '));
  const printed = execFileSync('bash', ['-c', `printf '%s\\0' ${command.slice(5)}`]);
  return printed.toString('utf8').split('\0').slice(0, -1);
}

test('the JSON body survives the shell exactly, apostrophes and all', () => {
  const body = { sequence: "don't \"quote\" me;\n$(rm -rf /) `x` — ok", method: 'gradient', target: 'spam' };
  const curl = curlFor('/v1/models/spam-rnn/explain', body, { origin: 'http://lab:8080' });
  assert.equal(curl.inline, true);
  const words = shellWords(curl.command);
  assert.deepEqual(words.slice(0, 3), ['-H', 'content-type: application/json', 'http://lab:8080/v1/models/spam-rnn/explain']);
  assert.equal(words[3], '-d');
  assert.deepEqual(JSON.parse(words[4]!), body);
});

test('a key and an event stream become headers; a large body goes to request.json', () => {
  const stream = shellWords(curlFor('/v1/models/mnist/attack', { method: 'pgd' }, { origin: 'http://h', stream: true, key: "k'ey" }).command);
  assert.deepEqual(stream.slice(0, 6), ['-H', "x-api-key: k'ey", '-N', '-H', 'accept: text/event-stream', '-H']);
  const big = curlFor('/v1/models/mnist/classify', { image: 'x'.repeat(20_000) }, { origin: 'http://h' });
  assert.equal(big.inline, false);
  assert.deepEqual(shellWords(big.command).slice(-2), ['-d', '@request.json']);
  assert.deepEqual(JSON.parse(big.body), { image: 'x'.repeat(20_000) });
});
