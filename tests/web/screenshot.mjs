// A screenshot of the map page once it has settled (for docs and for looking at a map).
// Usage: node screenshot.mjs URL OUT.png [WIDTHxHEIGHT]   (env: MM_WEB_DIR, CHROMIUM)
import { createRequire } from 'node:module';
import path from 'node:path';

const [url, out, size = '1280x800'] = process.argv.slice(2);
const [width, height] = size.split('x').map(Number);
const require = createRequire(path.resolve(process.env.MM_WEB_DIR, 'package.json'));
const { chromium } = require('playwright-core');
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'],
});
const page = await browser.newPage({ viewport: { width, height } });
await page.goto(url);
await page.waitForFunction(() => window.__musicmap?.ready && !window.__musicmap.animating, null, { timeout: 120000 });
await page.waitForTimeout(300);
await page.screenshot({ path: out });
await browser.close();
