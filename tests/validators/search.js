// The search page in headless Chromium, for tests/test_search.py and bench/search.py.
//
//   node search.js STEPS.json CHROMIUM USER_DATA_DIR
//
// STEPS.json: {"url": the search page's address, "steps": [{"query": "民情", "filters": {"county": "云和县"}},
// {"javascript": false}, …]}. Each step opens the page anew, chooses the filters (the <select>
// whose data-filter is the key), types the query into the search box and presses Enter, then
// waits until the page says it has searched exactly that. Prints one JSON array, one item per step:
//   {query, filters, status: the page's status line, count: matches in all, ms: the search's own
//    time, loadMs: from opening the page to the results shown, bytes: what the page downloaded
//    (by Content-Length; nothing when the browser's cache had it), results: [{url, title, place,
//    date, excerpt: its HTML, marks: [highlighted texts]}] (the first page of them),
//    injected: whether window.pwned was set, errors: [uncaught errors and failed requests]}
// A step {"javascript": false} opens the page with JavaScript off and reports {text: what the
// page shows, formHidden}. Exits 0 whatever it found (the test judges); 2 when it could not run.
'use strict';

const fs = require('fs');
const puppeteer = require('puppeteer-core');

async function main() {
  const [stepsFile, executablePath, userDataDir] = process.argv.slice(2);
  if (!stepsFile || !executablePath || !userDataDir) {
    throw new Error('usage: node search.js STEPS.json CHROMIUM USER_DATA_DIR');
  }
  const {url, steps} = JSON.parse(fs.readFileSync(stepsFile, 'utf8'));
  const browser = await puppeteer.launch({
    executablePath,
    headless: 'shell',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
           '--disable-component-update', '--disable-sync', '--no-first-run', `--user-data-dir=${userDataDir}`],
  });
  const out = [];
  try {
    for (const step of steps) {
      const page = await browser.newPage();
      const errors = [];
      page.on('pageerror', e => errors.push(String(e)));
      page.on('requestfailed', r => errors.push(`failed: ${r.url()}`));
      let bytes = 0;
      page.on('response', r => {
        if (r.status() >= 400 && !r.url().endsWith('favicon.ico')) errors.push(`${r.status()}: ${r.url()}`);
        bytes += Number(r.headers()['content-length'] || 0);
      });
      if (step.javascript === false) {
        await page.setJavaScriptEnabled(false);
        await page.goto(url, {waitUntil: 'load', timeout: 30000});
        out.push(await page.evaluate(() => ({
          text: document.querySelector('main').innerText,
          formHidden: document.querySelector('form.search-form').hidden,
        })));
        await page.close();
        continue;
      }
      const query = step.query || '';
      const filters = step.filters || {};
      const started = Date.now();
      await page.goto(url, {waitUntil: 'load', timeout: 30000});
      await page.waitForSelector('form.search-form:not([hidden])', {timeout: 30000});
      for (const [name, value] of Object.entries(filters)) {
        await page.select(`select[data-filter="${name}"]`, value);
      }
      if (query) {
        await page.type('#search-q', query);
        await page.keyboard.press('Enter');
      }
      const wanted = Object.keys(filters).sort().map(k => `${k}=${filters[k]}`).join('&');
      await page.waitForFunction((q, f) => {
        const list = document.getElementById('search-results');
        return list.dataset.query === q && list.dataset.filters === f && list.dataset.count !== undefined
          && list.children.length === Math.min(Number(list.dataset.count), 20);
      }, {timeout: 60000}, query, wanted);
      const loadMs = Date.now() - started;
      out.push(Object.assign({query, filters, loadMs, bytes, errors}, await page.evaluate(() => {
        const list = document.getElementById('search-results');
        return {
          injected: typeof window.pwned !== 'undefined',  // set by markup a story smuggled into a result
          status: document.getElementById('search-status').textContent,
          count: Number(list.dataset.count),
          ms: Number(list.dataset.ms),
          results: [...list.children].map(li => ({
            url: li.querySelector('a').getAttribute('href'),
            title: li.querySelector('a').textContent,
            place: (li.querySelector('.meta span') || {}).textContent || '',
            date: (li.querySelector('.meta span:nth-child(2)') || {}).textContent || '',
            excerpt: li.querySelector('.search-excerpt').innerHTML,
            marks: [...li.querySelectorAll('mark')].map(m => m.textContent),
          })),
        };
      })));
      await page.close();
    }
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch(error => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(2);
});
