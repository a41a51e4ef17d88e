/**
 * The lab page in white-box mode, in Debian's chromium against a listening server with the
 * shipped models: one subtest per view, asserting what a person sees (bars, maps, an adversarial
 * image, an animation, an unrolled network), that the API's messages reach the page, that the
 * URL reproduces the view, that nothing leaves the origin, no console errors, and no serious or
 * critical axe-core violation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { build } from '../helpers/build.ts';
import { launch, NO_CHROMIUM, screenshot, seriousViolations, watchedPage } from './browser.ts';

const FAILED_LOAD = /^Failed to load resource: the server responded with a status of 4\d\d/;

test('the lab page in white-box mode', { skip: NO_CHROMIUM, timeout: 300_000 }, async (t) => {
  const { app, config } = await build(t, { modelsDir: 'models' });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  const browser = await launch(t);
  const { page, errors, requests } = await watchedPage(browser);
  const bars = (testId: string) => page.getByTestId(testId).locator('li').allInnerTexts();

  await t.test('Input: gallery, drawing moves the bars, bad files get the API message', async () => {
    await page.goto(`${base}/`);
    await page.getByRole('button', { name: /held-out image 3, label/ }).waitFor();
    assert.equal(await page.getByRole('button', { name: /^held-out image \d+, label/ }).count(), 20);
    await page.getByRole('button', { name: 'held-out image 14, label 7' }).click();
    await page.getByText('held-out image #14, true label 7').waitFor();
    await page.waitForFunction(() => document.querySelector('[data-testid="input-bars"] li .bar-label')?.textContent === '7');

    // Draw a vertical stroke: the bars follow the pen (a "1" is not a "7").
    const before = await bars('input-bars');
    const box = (await page.getByTestId('draw-canvas').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + 30);
    await page.mouse.down();
    for (let y = 30; y <= box.height - 30; y += 12) await page.mouse.move(box.x + box.width / 2, box.y + y);
    await page.waitForFunction((old) => document.querySelector('[data-testid="input-bars"] ol')?.textContent !== old, before.join(''));
    await page.mouse.up();
    await page.getByText('your drawing').waitFor();
    await page.waitForURL(/draw=/);
    assert.deepEqual(errors, []);
    assert.deepEqual(await seriousViolations(page), []);
    await screenshot(page, 'input');

    const upload = page.getByTestId('upload');
    await upload.setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not an image at all') });
    await page.getByRole('alert').filter({ hasText: /GRADLAB_UNSUPPORTED_MEDIA_TYPE|not PNG|415/ }).waitFor();
    await upload.setInputFiles({ name: 'huge.png', mimeType: 'image/png', buffer: Buffer.alloc(config.limits.maxBodyBytes + 1) });
    await page.getByRole('alert').filter({ hasText: /413/ }).waitFor();
    assert.ok(await page.getByText('your drawing').isVisible(), 'a refused upload leaves the previous input');
    assert.deepEqual(errors.filter((e) => !FAILED_LOAD.test(e)), []);
    errors.length = 0;

    // Another model: its own gallery, labels and predictions.
    await page.getByRole('combobox', { name: /^Model/ }).selectOption('fashion');
    await page.getByRole('button', { name: /^held-out image \d+, label Trouser$/ }).first().click();
    await page.waitForFunction(() => document.querySelector('[data-testid="input-bars"] li .bar-label')?.textContent === 'Trouser');
    await page.getByRole('combobox', { name: /^Model/ }).selectOption('mnist');
    await page.getByRole('button', { name: 'held-out image 14, label 7' }).waitFor();
  });

  await t.test('Explain: a map appears, a class bar re-targets it, two methods side by side', async () => {
    await page.getByRole('button', { name: 'held-out image 14, label 7' }).click();
    await page.getByRole('tab', { name: 'Explain' }).click();
    const mapA = page.getByTestId('map-a');
    await mapA.locator('canvas.ready').waitFor();
    await mapA.getByText('gradient for class 7').waitFor();
    await page.getByRole('button', { name: /^explain class 1/ }).click();
    await mapA.getByText('gradient for class 1').waitFor();
    await page.getByRole('checkbox', { name: 'Compare with a second method' }).check();
    await page.getByTestId('map-b').getByText('gradcam for class 1').waitFor();
    // A streamed method (progress events) with a choice parameter: integrated gradients from a white baseline.
    await page.getByRole('group', { name: 'Map B' }).getByRole('combobox', { name: /^Method/ }).selectOption('integrated-gradients');
    await page.getByRole('group', { name: 'Map B' }).getByRole('combobox', { name: /^baseline/ }).selectOption('white');
    await page.getByTestId('map-b').getByText('integrated-gradients for class 1').waitFor();
    await page.waitForURL(/params2=[^&]*baseline/);
    await page.getByRole('slider', { name: 'Overlay opacity' }).fill('0.3');
    await page.getByLabel('Colour scale').selectOption('heat');
    assert.ok(await mapA.getByRole('link', { name: /Download the raw map/ }).isVisible());
    assert.match(await mapA.getByLabel('curl command for this action').inputValue(), /^curl .*\/v1\/models\/mnist\/explain/);
    await page.waitForURL(/view=explain.*target=1|target=1.*view=explain/);
    assert.deepEqual(await seriousViolations(page), []);
    await screenshot(page, 'explain');
  });

  await t.test('Attack: live progress, cancel, the adversarial image and the bars after, a sweep', async () => {
    await page.getByRole('tab', { name: 'Attack' }).click();
    await page.getByLabel('Method (weak to strong)').selectOption('pgd');
    await page.getByRole('spinbutton', { name: 'Steps' }).fill('1000');
    await page.getByRole('button', { name: 'Run attack' }).click();
    await page.getByText(/^step \d+ of 1000/).waitFor();
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('alert').filter({ hasText: 'cancelled' }).waitFor();

    await page.getByRole('spinbutton', { name: 'Steps' }).fill('20');
    await page.getByRole('slider', { name: /^ε =/ }).fill('0.2');
    await page.getByRole('button', { name: 'Run attack' }).click();
    const result = page.getByTestId('attack-result');
    await result.waitFor({ timeout: 60_000 });
    await result.getByText(/^PGD at ε 0.2: Fooled: 7 is now classified/).waitFor();
    assert.ok(await result.getByRole('img', { name: 'adversarial image' }).isVisible());
    assert.notEqual((await bars('bars-after'))[0]?.split('\n')[0], '7');
    await result.getByRole('checkbox', { name: /Explain the original and the adversarial/ }).check();
    await page.getByTestId('map-adversarial').locator('canvas.ready').waitFor();

    await page.getByLabel('Method (weak to strong)').selectOption('fgsm');
    await page.getByRole('button', { name: 'ε-sweep: robustness curve' }).click();
    await page.getByTestId('sweep').locator('tbody tr').nth(7).waitFor({ timeout: 60_000 });
    await page.getByRole('button', { name: 'ε-sweep on the 20 held-out images' }).click();
    const gallerySweep = page.getByTestId('sweep').filter({ hasText: 'robust accuracy on 20 images' });
    await gallerySweep.locator('tbody tr').nth(7).waitFor({ timeout: 120_000 });
    const accuracy = (await gallerySweep.locator('tbody tr td:nth-child(2)').allInnerTexts()).map(Number);
    assert.ok(accuracy[7]! < accuracy[0]!, `robust accuracy falls as ε grows: ${accuracy.join(', ')}`);
    assert.deepEqual(await seriousViolations(page), []);
    await screenshot(page, 'attack');
  });

  await t.test('Visualize: a unit, then a class from noise played back as an animation', async () => {
    await page.getByRole('tab', { name: 'Visualize' }).click();
    const result = page.getByTestId('visualize-result');
    await page.getByRole('radio', { name: 'a unit' }).check();
    await page.getByRole('combobox', { name: /^Layer/ }).selectOption('conv2');
    await page.getByRole('spinbutton', { name: /Channel/ }).fill('5');
    await page.getByRole('spinbutton', { name: 'Steps' }).fill('20');
    await page.getByRole('button', { name: 'Visualize' }).click();
    await result.waitFor({ timeout: 60_000 });
    await page.getByRole('radio', { name: 'a class' }).check();
    await page.getByRole('combobox', { name: /^Class/ }).selectOption('3');
    await page.getByRole('spinbutton', { name: 'Steps' }).fill('150');
    await page.getByRole('button', { name: 'Visualize' }).click();
    await page.getByText(/^step \d+ of 150/).waitFor();
    await page.getByRole('button', { name: 'Visualize', disabled: false }).waitFor({ timeout: 60_000 });
    // The animation cycles through the snapshots: the frame caption changes by itself.
    const caption = result.locator('figcaption.frame');
    const first = await caption.innerText();
    await page.waitForFunction((old) => document.querySelector('[data-testid="visualize-result"] figcaption.frame')?.textContent !== old, first);
    await result.getByRole('button', { name: 'Pause' }).click();
    await result.getByRole('slider', { name: 'Frame' }).press('End');
    await result.getByText(/^final, objective/).waitFor();
    assert.ok((await result.getByRole('img').getAttribute('src'))?.startsWith('data:image/png'));
    assert.deepEqual(await seriousViolations(page), []);
    await screenshot(page, 'visualize');
  });

  await t.test('Sequences: parity unrolled, characters shaded by log-probability, spam words by attribution', async () => {
    await page.getByRole('tab', { name: 'Sequences' }).click();
    const unrolled = page.getByTestId('unrolled');
    await unrolled.waitFor();
    await page.getByLabel(/^Sequence \(bits\)/).fill('1101');
    await page.getByRole('status').filter({ hasText: 'Prediction: odd' }).waitFor();
    assert.equal(await unrolled.locator('tr').first().locator('td').count(), 4);
    await page.getByLabel(/^Sequence \(bits\)/).fill('110100111011');
    await page.getByRole('status').filter({ hasText: 'Prediction: even' }).waitFor();
    assert.equal(await unrolled.locator('tr').first().locator('td').count(), 12);
    await screenshot(page, 'sequences');
    await page.getByLabel('Sequence model').selectOption('rnn-sum');
    await page.getByRole('status').filter({ hasText: 'Output: 6.5' }).waitFor();
    assert.equal(await unrolled.locator('tr').first().locator('td').count(), 3);
    await page.getByLabel('Sequence model').selectOption('rnn-compare');
    await page.getByRole('status').filter({ hasText: 'Prediction: first total larger' }).waitFor();
    assert.ok(await unrolled.getByRole('img', { name: /unrolled over 3 steps/ }).isVisible());
    await page.getByLabel('Sequence model').selectOption('char-lm');
    await page.getByTestId('char-shading').waitFor();
    await page.getByLabel('Sequence model').selectOption('spam-rnn');
    await page.getByTestId('word-attribution').locator('span').first().waitFor();
    await page.getByLabel(/^Sequence \(pairs/).waitFor({ state: 'detached' });
    assert.deepEqual(await seriousViolations(page), []);
  });

  await t.test('the URL reproduces the view; a teacher link hides controls', async () => {
    await page.goto(`${base}/?view=explain&model=mnist&sample=5&method=gradcam&target=2`);
    await page.getByTestId('map-a').getByText('gradcam for class 2').waitFor();
    const teacher = new URLSearchParams({ view: 'attack', model: 'mnist', sample: '14', attack: 'fgsm', lock: 'view,model,method' });
    await page.goto(`${base}/?${teacher.toString()}`);
    await page.getByRole('button', { name: 'Run attack' }).waitFor();
    assert.equal(await page.getByRole('tab').count(), 0);
    assert.equal(await page.getByLabel('Method (weak to strong)').count(), 0);
    assert.equal(await page.getByLabel('Model', { exact: true }).count(), 0);
    assert.ok(await page.getByText(/One step of size ε/).isVisible(), 'the why note stays');
  });

  await t.test('the keyboard alone switches views and picks an image', async () => {
    await page.goto(`${base}/?view=input`);
    await page.getByRole('tab', { name: 'Input' }).focus();
    await page.keyboard.press('ArrowRight');
    assert.equal(await page.getByRole('tab', { name: 'Explain' }).getAttribute('aria-selected'), 'true');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'tab-explain');
    await page.getByRole('button', { name: 'held-out image 6, label 3' }).focus();
    await page.keyboard.press('Enter');
    await page.getByText('held-out image #6, true label 3').waitFor();
    await page.getByTestId('map-a').locator('canvas.ready').waitFor();
    await page.getByText('Copy as curl').first().press('Enter');
    assert.match(await page.getByLabel('curl command for this action').first().inputValue(), /\/v1\/models\/mnist\/classify/);
  });

  await t.test('nothing leaves the origin and the console stayed clean', () => {
    assert.deepEqual(requests.filter((u) => !u.startsWith(base) && !u.startsWith('data:') && !u.startsWith('blob:')), []);
    assert.deepEqual(errors, []);
  });
});
