/**
 * The lab page in black-box mode: the student's view in Debian's chromium against a listening
 * server with keys and budgets. A wrong key gets the API's message, a good one shows the budget,
 * drawing and uploading query the model and the budget goes down, the answer is shown as the API
 * shapes it (`--output topk:3`), a spent budget gets the 429 message, the teacher's view (behind
 * `--admin-key`) shows each key's use; and the page never requests
 * (or names) a white-box route.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { build } from '../helpers/build.ts';
import { tempDataDir, twoMnistModels } from '../helpers/blackbox.ts';
import { launch, NO_CHROMIUM, screenshot, seriousViolations, watchedPage } from './browser.ts';

const FAILED_LOAD = /^Failed to load resource: the server responded with a status of 4\d\d/;
const ADMIN_KEY = 'teacher-key-0123456789';
const WHITE_BOX = /\/(explain|attack|visualize|score|samples)\b|\/docs|openapi/;

test('the student page in black-box mode', { skip: NO_CHROMIUM, timeout: 180_000 }, async (t) => {
  const dataDir = await tempDataDir(t);
  const modelsDir = await twoMnistModels(t);
  const { app } = await build(t, { modelsDir, argv: ['--mode', 'blackbox', '--data-dir', dataDir, '--output', 'topk:3', '--admin-key', ADMIN_KEY], env: { GRADLAB_API_KEYS: 'alice:3' } });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  const browser = await launch(t);
  const { page, errors, requests } = await watchedPage(browser);

  await t.test('a wrong key shows the API message', async () => {
    await page.goto(`${base}/`);
    await page.getByLabel('API key').fill('mallory');
    await page.getByRole('button', { name: 'Use this key' }).click();
    await page.getByRole('alert').filter({ hasText: 'the API key is not valid' }).waitFor();
    assert.equal(await page.getByTestId('budget').count(), 0);
  });

  await t.test('draw and upload: the answer as shaped, the budget goes down, then runs out', async () => {
    await page.getByLabel('API key').fill('alice');
    await page.getByRole('button', { name: 'Use this key' }).click();
    await page.getByTestId('budget').filter({ hasText: 'Budget: 3 of 3 queries left' }).waitFor();

    const box = (await page.getByTestId('draw-canvas').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + 30);
    await page.mouse.down();
    for (let y = 30; y <= box.height - 30; y += 12) await page.mouse.move(box.x + box.width / 2, box.y + y);
    await page.mouse.up();
    await page.getByTestId('budget').filter({ hasText: 'Budget: 2 of 3 queries left' }).waitFor();
    assert.equal(await page.getByTestId('student-bars').locator('li').count(), 3, '--output topk:3 answers three classes');
    await page.getByLabel('What does your image really show?').selectOption('7');
    await page.getByRole('status').filter({ hasText: /^Fooled: it shows 7, the model says/ }).waitFor();
    assert.deepEqual(await seriousViolations(page), []);
    await screenshot(page, 'student');

    const digit = await readFile('docs/examples/digit-7.png');
    await page.getByTestId('upload').setInputFiles({ name: 'digit-7.png', mimeType: 'image/png', buffer: digit });
    await page.getByTestId('budget').filter({ hasText: 'Budget: 1 of 3 queries left' }).waitFor();
    await page.getByRole('status').filter({ hasText: 'Not fooled: the model says 7.' }).waitFor();
    assert.match(await page.getByLabel('the answer as JSON').innerText(), /"predictions":\[\{"label":"7"/);

    await page.getByTestId('upload').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('no image') });
    await page.getByRole('alert').filter({ hasText: /415/ }).waitFor();
    await page.getByTestId('budget').filter({ hasText: 'Budget: 1 of 3 queries left' }).waitFor();
    await page.getByTestId('upload').setInputFiles({ name: 'digit-7.png', mimeType: 'image/png', buffer: digit });
    await page.getByTestId('budget').filter({ hasText: 'Budget: 0 of 3 queries left' }).waitFor();
    await page.getByTestId('upload').setInputFiles({ name: 'again.png', mimeType: 'image/png', buffer: digit });
    await page.getByRole('alert').filter({ hasText: /budget of 3 queries for this key is spent/ }).waitFor();
  });

  await t.test("the teacher's view: a wrong admin key gets the message, the right one shows each key's use", async () => {
    const teacher = page.getByTestId('teacher-usage');
    await teacher.getByText('Teacher: the query log').click();
    await teacher.getByLabel('Admin key').fill('alice');
    await teacher.getByRole('button', { name: 'Show the query log' }).click();
    await teacher.getByRole('alert').filter({ hasText: 'the admin key is not valid' }).waitFor();
    await teacher.getByLabel('Admin key').fill(ADMIN_KEY);
    await teacher.getByRole('button', { name: 'Show the query log' }).click();
    const row = teacher.getByRole('row', { name: /^key-[0-9a-f]{8} / });
    await row.waitFor();
    assert.match(await row.innerText(), /3 of 3/);
    assert.match((await row.getByRole('img').getAttribute('aria-label')) ?? '', /queries over time/);
    assert.deepEqual(await seriousViolations(page), []);
    await screenshot(page, 'teacher', teacher);
  });

  await t.test('only black-box routes were requested, none is named, nothing left the origin', async () => {
    const api = requests.filter((u) => u.startsWith(`${base}/v1/`) || u.startsWith(`${base}/admin/`));
    assert.ok(api.length >= 5);
    assert.deepEqual(requests.filter((u) => WHITE_BOX.test(u)), []);
    assert.deepEqual(requests.filter((u) => !u.startsWith(base) && !u.startsWith('data:') && !u.startsWith('blob:')), []);
    const script = await (await fetch(`${base}/lab/student.js`)).text();
    const html = await page.content();
    assert.ok(script.includes('/v1/models'), 'the student script is the one the page runs');
    for (const route of ['/explain', '/attack', '/visualize', '/samples', '/score']) {
      assert.ok(!html.includes(route), `the page names ${route}`);
      assert.ok(!script.includes(route), `the student script names ${route}`);
    }
    assert.equal((await fetch(`${base}/lab/lab.js`)).status, 404, "the lab's script is not served in black-box mode");
    assert.deepEqual(errors.filter((e) => !FAILED_LOAD.test(e)), []);
  });
});
