// The map page under load, in headless Chromium (software WebGL unless a GPU is given): time to first
// paint (navigation start to the first frame with every point drawn) and the frame rate while panning
// (a drag that moves the view every frame, frames counted by the page's render loop).
// Usage: node bench_page.mjs URL [SECONDS]   (env: MM_WEB_DIR, CHROMIUM, MM_GL=swiftshader|gpu)
import { createRequire } from 'node:module';
import path from 'node:path';

const [url, secondsArg] = process.argv.slice(2);
const seconds = Number(secondsArg || 5);
const require = createRequire(path.resolve(process.env.MM_WEB_DIR, 'package.json'));
const { chromium } = require('playwright-core');
const gl = process.env.MM_GL === 'gpu' ? ['--enable-gpu', '--ignore-gpu-blocklist', '--use-angle=vulkan']
  : ['--disable-gpu', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'];
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', ...gl],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
await page.goto(url);
await page.waitForFunction(() => window.__musicmap?.ready, null, { timeout: 300000, polling: 20 });
const first = await page.evaluate(() => ({ paint: window.__musicmap.firstPaint, n: window.__musicmap.drawn() }));
await page.waitForFunction(() => !window.__musicmap.animating, null, { timeout: 60000 });
// pan: a drag that moves every animation frame, driven inside the page (pointer events on the
// canvas), so the figure is the page's own frame rate, not the test driver's round trips
const pan = await page.evaluate((secs) => new Promise((resolve) => {
  const c = document.getElementById('map');
  const ev = (type, x, y) => c.dispatchEvent(new PointerEvent(type, { clientX: x, clientY: y, button: 0, bubbles: true, pointerId: 1 }));
  ev('pointerdown', 640, 400);
  const f0 = window.__musicmap.frames, t0 = performance.now();
  let k = 0;
  const step = () => {
    const t = performance.now() - t0;
    if (t > secs * 1000) {
      ev('pointerup', 640, 400);
      resolve({ frames: window.__musicmap.frames - f0, ms: t });
      return;
    }
    k++;
    ev('pointermove', 640 + 200 * Math.sin(k / 20), 400 + 120 * Math.cos(k / 27));
    requestAnimationFrame(step);
  };
  requestAnimationFrame(step);
}), seconds);
const f0 = 0, f1 = pan.frames, dt = pan.ms / 1000;
// a map switch: the time until the points have glided to the new layout (the animation is 1.1 s)
const maps = await page.evaluate(async () => (await (await fetch('api/maps')).json()).maps.map((m) => m.id));
const s0 = Date.now();
await page.evaluate((id) => window.__musicmap.showMap(id), maps[1]);
await page.waitForFunction(() => !window.__musicmap.animating, null, { timeout: 60000 });
const switchMs = Date.now() - s0;
console.log(JSON.stringify({ points: first.n, first_paint_ms: Math.round(first.paint), pan_fps: +((f1 - f0) / dt).toFixed(1),
  switch_ms: switchMs, gl: process.env.MM_GL || 'swiftshader' }));
await browser.close();
