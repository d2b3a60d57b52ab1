// Makes docs/server-page.png (the page mid-generation) in a real browser. The CI test of the same flow is
// tests/ControlHost.Server.Tests/PageInBrowserTests.cs (Playwright for .NET); this script only takes the screenshots:
//   apt-get install chromium; npm install playwright-core@1.64.1; controlhost serve --port 7864 &; node tools/page-check.js
// It adds a canny unit, uploads an image, sees the hint, draws a box on a background, generates, and screenshots
// the page mid-generation (/tmp/page-mid.png) and when done.
const { chromium } = require('playwright-core');
(async () => {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  page.on('pageerror', e => errors.push(e.message));
  await page.goto('http://127.0.0.1:7864/');
  await page.waitForFunction(() => document.getElementById('status').textContent === 'ready');
  await page.click('#add-unit');
  await page.selectOption('#units .unit .condition', 'canny');
  await page.setInputFiles('#units .unit .image', require('path').join(__dirname, '..', 'examples', 'star-scene.png'));
  await page.waitForFunction(() => document.querySelector('#units .unit .hint').src.startsWith('data:image/png'));
  await page.setInputFiles('#background', require('path').join(__dirname, '..', 'examples', 'star-scene.png'));
  const box = await page.locator('#canvas').boundingBox();
  await page.mouse.move(box.x + 230, box.y + 30); await page.mouse.down(); await page.mouse.move(box.x + 360, box.y + 200, { steps: 5 }); await page.mouse.up();
  await page.fill('#steps', '150');
  await page.click('#generate');
  await page.waitForFunction(() => document.getElementById('status').textContent.startsWith('step'), null, { timeout: 60000 });
  await page.waitForTimeout(300);
  await page.waitForTimeout(400);
  await page.screenshot({ path: '/tmp/page-mid.png', fullPage: true });
  await page.waitForFunction(() => document.getElementById('status').textContent === 'done', null, { timeout: 120000 });
  const items = await page.locator('#gallery img').count();
  await page.screenshot({ path: '/tmp/page-done.png' });
  console.log('gallery', items, 'parameters:', (await page.textContent('#parameters')).slice(0, 80), 'errors:', errors);
  await browser.close();
})().catch(e => { console.error(e); process.exit(1); });
