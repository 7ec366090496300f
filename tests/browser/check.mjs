// Loads a kafkasim HTML report in headless Debian chromium and checks what it shows.
//
//   node check.mjs REPORT.html SCREENSHOT.png EXPECT.json
//
// EXPECT.json says what the page must show: {"lanes": 3, "verdict": "PASS",
// "key_text": "<script>…" (optional), "anomalies": true|false}. The script loads the page
// from file://, refuses every network request, checks the lanes, the verdict, the key
// shown as text and that no dialog opened, clicks ▶ and checks the time moved, goes to the
// next anomaly and clicks its row for the cause, and takes a screenshot at 1280x800.
// It prints one line per check and exits 1 on the first failure. tests/report_browser.rs
// runs it; README ("The HTML report") says how to run it by hand.

import { chromium } from 'playwright-core';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [reportPath, shotPath, expectPath] = process.argv.slice(2);
if (!reportPath || !shotPath || !expectPath) {
  console.error('usage: node check.mjs REPORT.html SCREENSHOT.png EXPECT.json');
  process.exit(2);
}
const expected = JSON.parse(readFileSync(expectPath, 'utf8'));

function check(ok, what) {
  if (!ok) {
    console.error(`FAIL ${what}`);
    throw new Error(what);
  }
  console.log(`ok   ${what}`);
}

const profile = mkdtempSync(join(tmpdir(), 'kafkasim-chromium-'));
// A fresh profile each time (playwright passes it as --user-data-dir).
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1280, height: 800 },
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
});
let failed = false;
try {
  const page = await browser.newPage();
  const dialogs = [];
  page.on('dialog', async (d) => { dialogs.push(d.message()); await d.dismiss(); });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  const requests = [];
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('file:')) { return route.continue(); }
    requests.push(url);
    return route.abort();
  });
  await page.goto(pathToFileURL(resolve(reportPath)).href);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 10000 });

  check(errors.length === 0, `no script error (${errors.join('; ')})`);
  check(requests.length === 0, `no request leaves the file (${requests.join(', ')})`);
  check(dialogs.length === 0, 'no dialog opened');
  const lanes = await page.locator('.lane-row').count();
  check(lanes === expected.lanes, `${expected.lanes} partition lanes (found ${lanes})`);
  const verdict = (await page.locator('#verdict-badge').innerText()).trim();
  check(verdict === `Verdict: ${expected.verdict}`, `the verdict reads "Verdict: ${expected.verdict}" ("${verdict}")`);
  if (expected.key_text) {
    const legend = await page.locator('#legend').innerText();
    check(legend.includes(expected.key_text), 'the key is shown as text in the legend');
    const cells = await page.locator('#tl-body td.detail').allInnerTexts();
    check(cells.some((c) => c.includes(expected.key_text)), 'the key is shown as text in the timeline');
    const injected = await page.locator('#legend script, #tl-body script, #lesson script, h1 script').count();
    check(injected === 0, 'no element was made from the key or the title');
  }
  if (expected.title) {
    const h1 = (await page.locator('h1').innerText()).trim();
    check(h1 === expected.title, `the title is shown as text ("${h1}")`);
  }

  const before = await page.locator('#clock').innerText();
  await page.locator('#next').click();
  const after = await page.locator('#clock').innerText();
  check(before !== after && after.includes('row 2/'), `▶ steps to the next row ("${before}" → "${after}")`);
  const current = await page.locator('#tl-body tr.cur').count();
  check(current === 1, 'exactly one timeline row is current');

  if (expected.anomalies) {
    await page.locator('#next-anomaly').click();
    const row = page.locator('#tl-body tr.cur');
    check(await row.evaluate((tr) => tr.classList.contains('anom')), 'anomaly ▶ goes to a highlighted row');
    const why = await page.locator('#now-why').innerText();
    check(why.length > 20, 'the current anomaly\'s cause is shown above the lanes');
    await row.click();
    const cause = page.locator('#tl-body tr.cause');
    check(await cause.count() === 1, 'clicking the anomaly row reveals its cause');
    const text = await cause.innerText();
    check(text.length > 40, `its cause reads: ${text.slice(0, 90).replace(/\s+/g, ' ')}…`);
    const effect = cause.locator('ol.chain li.effect');
    check(await effect.count() >= 1 && (await effect.first().innerText()).startsWith('So, at t='),
      'the cause shows its causal chain, ending with the effect');
  }
  // The screenshot starts at the controls: the current row, the partitions and the
  // timeline, as a projector shows them while stepping.
  await page.evaluate(() => {
    const intro = document.querySelector('.intro');
    window.scrollTo(0, intro.getBoundingClientRect().bottom + window.scrollY);
  });
  await page.screenshot({ path: shotPath });
  console.log(`screenshot ${shotPath}`);
  check(dialogs.length === 0, 'still no dialog after clicking around');
} catch (e) {
  if (!String(e.message).length || !e.message.startsWith('FAIL')) { console.error(String(e)); }
  failed = true;
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
