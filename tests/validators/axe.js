// axe-core in headless Chromium over a list of pages, for tests/test_validators.py.
//
//   node axe.js URLS.json CHROMIUM USER_DATA_DIR
//
// URLS.json is a JSON array of addresses. One browser is started for all of them; each page is
// loaded, axe-core is injected and run with the WCAG 2.0/2.1 A and AA rules plus the
// best-practice rule heading-order. Prints one JSON array on stdout, one item per address:
//   {url, status, violations: [{id, impact, help, helpUrl, nodes: [{target, html, summary}]}],
//    incomplete: [rule ids], ran: number of rules that applied or passed,
//    phone: {navRows, overflow}: on a 360 px wide screen, the rows the site menu takes and by
//    how many pixels the page is wider than the screen}
// and exits 0 whatever axe found (the test judges); non-zero only when it could not run.
'use strict';

const fs = require('fs');
const puppeteer = require('puppeteer-core');

const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const OPTIONS = {
  runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
  rules: {'heading-order': {enabled: true}},
  resultTypes: ['violations'],
};

// A page that fills itself in after loading (the search page) says so with aria-busy="true" until
// it is done: check it as a reader finally sees it.
async function settled(page) {
  await page.waitForFunction(() => !document.querySelector('[aria-busy="true"]'), {timeout: 30000});
}

async function main() {
  const [urlsFile, executablePath, userDataDir] = process.argv.slice(2);
  if (!urlsFile || !executablePath || !userDataDir) {
    throw new Error('usage: node axe.js URLS.json CHROMIUM USER_DATA_DIR');
  }
  const urls = JSON.parse(fs.readFileSync(urlsFile, 'utf8'));
  const browser = await puppeteer.launch({
    executablePath,
    headless: 'shell', // puppeteer adds plain --headless, as below
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
           '--disable-component-update', '--disable-sync', '--no-first-run', `--user-data-dir=${userDataDir}`],
  });
  const results = [];
  try {
    const page = await browser.newPage();
    await page.setViewport({width: 1280, height: 900});
    for (const url of urls) {
      const response = await page.goto(url, {waitUntil: 'load', timeout: 30000});
      await settled(page);
      await page.evaluate(AXE_SOURCE);
      const r = await page.evaluate(options => window.axe.run(document, options), OPTIONS);
      results.push({
        url,
        status: response ? response.status() : null,
        violations: r.violations.map(v => ({
          id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
          nodes: v.nodes.map(n => ({target: n.target, html: n.html, summary: n.failureSummary})),
        })),
        incomplete: r.incomplete.map(v => v.id),
        ran: r.passes.length + r.violations.length + r.incomplete.length,
        headingOrder: [...r.passes, ...r.violations, ...r.incomplete, ...r.inapplicable]
          .some(v => v.id === 'heading-order'),
      });
    }
    await page.setViewport({width: 360, height: 740, isMobile: true, hasTouch: true});
    for (const result of results) {
      await page.goto(result.url, {waitUntil: 'load', timeout: 30000});
      await settled(page);
      result.phone = await page.evaluate(() => ({
        navRows: new Set([...document.querySelectorAll('.site-nav li')]
          .map(li => Math.round(li.getBoundingClientRect().top))).size,
        overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
      }));
    }
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(results));
}

main().catch(error => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(2);
});
