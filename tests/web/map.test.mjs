// The map page in headless Chromium: it loads, draws one point per track, hover shows the right title,
// a click plays the right track (the audio request and the Web Audio graph), switching maps moves the
// points, search flies to a song and plays it, 3-D maps draw, keyboard shortcuts work.
// Usage: node map.test.mjs URL N_TRACKS ARTIFACT_DIR   (env: MM_WEB_DIR, CHROMIUM)
import { createRequire } from 'node:module';
import path from 'node:path';
import fs from 'node:fs';

const [url, nTracksArg, artDir] = process.argv.slice(2);
const require = createRequire(path.resolve(process.env.MM_WEB_DIR, 'package.json'));
const { chromium } = require('playwright-core');
const N = Number(nTracksArg);

let failures = 0, passes = 0;
function check(what, ok, detail = '') {
  if (ok) passes++; else { failures++; console.log(`FAIL: ${what}${detail ? ` (${detail})` : ''}`); }
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(page, fn, arg, ms = 15000) {
  try { await page.waitForFunction(fn, arg, { timeout: ms, polling: 50 }); return true; } catch { return false; }
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--autoplay-policy=no-user-gesture-required'],
  // playwright gives the browser a fresh profile folder of its own (its --user-data-dir)
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  const api = async (p) => (await page.request.get(new URL(p, url).href)).json();

  // 1. loads and draws every track
  await page.goto(url);
  check('page becomes ready', await until(page, () => window.__musicmap?.ready && !window.__musicmap.animating, null, 30000));
  const drawn = await page.evaluate(() => window.__musicmap.drawn());
  check('points drawn equal the tracks', drawn === N, `drawn ${drawn}, tracks ${N}`);
  const maps = (await api('api/maps')).maps;
  const mapId = await page.evaluate(() => window.__musicmap.mapId);
  check('a 2-D map is shown first', maps.find((m) => m.id === mapId)?.dims === 2);
  check('the map list is in the selector', (await page.locator('#map-select option').count()) === maps.length);
  check('the legend lists genres', (await page.locator('#legend-list li').count()) >= 2);

  // 2. hover: a point with no other point near it on screen
  const ids = await page.evaluate(() => window.__musicmap.ids());
  const where = await page.evaluate((all) => all.map((id) => window.__musicmap.project(id)), ids);
  let target = -1;
  for (let k = 0; k < ids.length && target < 0; k++) {
    const p = where[k];
    if (p.x < 260 || p.y < 90 || p.y > 720) continue; // under the legend or the bars
    if (where.every((q, j) => j === k || Math.hypot(q.x - p.x, q.y - p.y) > 16)) target = k;
  }
  check('an isolated point exists', target >= 0);
  const id = ids[target], pos = where[target];
  const track = await api(`api/tracks/${id}`);
  await page.mouse.move(pos.x, pos.y);
  check('hover shows a tooltip for the track',
    await until(page, (want) => { const t = document.getElementById('tooltip'); return !t.hidden && t.dataset.id === String(want) && t.querySelector('.t')?.textContent !== '…'; }, id));
  const tipTitle = await page.locator('#tooltip .t').textContent();
  check('the tooltip has the right title', tipTitle === (track.title || track.file), `"${tipTitle}" vs "${track.title}"`);
  check('the tooltip has the artist', (await page.locator('#tooltip .a').textContent()).includes(track.artist));
  await page.screenshot({ path: path.join(artDir, 'web-hover.png') });

  // 3. click plays that track: the audio request and the audio graph
  const audioReq = page.waitForResponse((r) => r.url().endsWith(`/api/tracks/${id}/audio`), { timeout: 10000 }).catch(() => null);
  await page.mouse.click(pos.x, pos.y);
  const resp = await audioReq;
  check('clicking requests the track\'s audio', !!resp);
  check('the audio response is ok', resp && [200, 206].includes(resp.status()), resp && String(resp.status()));
  check('with the right content type', resp && resp.headers()['content-type'] === track.audio.content_type,
    resp && resp.headers()['content-type']);
  check('the audio graph plays it', await until(page, (want) => {
    const a = window.__musicmap.audio(), d = a.decks[a.active];
    return a.context === 'running' && d && d.trackId === want && !d.paused && d.time > 0.2;
  }, id));
  const audio = await page.evaluate(() => window.__musicmap.audio());
  const deck = audio.decks[audio.active];
  check('the active deck\'s source is the track', deck.src.endsWith(`/api/tracks/${id}/audio`), deck.src);
  const wantGain = track.loudness == null ? 1 : Math.pow(10, Math.min(9, Math.max(-24, -18 - track.loudness)) / 20);
  check('gain is the loudness normalisation', Math.abs(deck.norm - wantGain) < 1e-3 && deck.gain > 0, `${deck.norm} vs ${wantGain}`);
  check('the now-playing bar names it', (await page.locator('#now-title').textContent()) === (track.title || track.file));

  // 4. a second click crossfades: two decks, the old one fading out
  const other = ids[(target + 1) % ids.length], opos = where[(target + 1) % ids.length];
  await page.evaluate(() => window.__musicmap.markDirty());
  await page.mouse.click(opos.x, opos.y);
  check('the next song plays on the other deck', await until(page, ([a, b]) => {
    const s = window.__musicmap.audio();
    return s.decks[s.active].trackId !== a && s.decks[1 - s.active].trackId === a && s.active >= 0 && b;
  }, [id, other]));
  await sleep(400);
  const mid = await page.evaluate(() => window.__musicmap.audio());
  check('crossfade: the old deck is still going, quieter', !mid.decks[1 - mid.active].paused && mid.decks[1 - mid.active].gain < mid.decks[1 - mid.active].norm,
    JSON.stringify(mid.decks));

  // 5. switching maps moves the points
  const second = maps.find((m) => m.id !== mapId && m.dims === 2);
  const before = where;
  await page.selectOption('#map-select', String(second.id));
  check('the map switches', await until(page, (m) => window.__musicmap.mapId === m && !window.__musicmap.animating, second.id));
  const after = await page.evaluate((all) => all.map((i) => window.__musicmap.project(i)), ids);
  const moved = after.filter((p, k) => Math.hypot(p.x - before[k].x, p.y - before[k].y) > 5).length;
  check('points moved to their new places', moved > ids.length / 2, `${moved} of ${ids.length} moved`);
  check('still one point per track', (await page.evaluate(() => window.__musicmap.drawn())) === N);

  // 6. search flies to a song and plays it
  const pickId = ids[(target + 5) % ids.length];
  const pick = await api(`api/tracks/${pickId}`);
  const word = pick.title.split(/\s+/).sort((a, b) => b.length - a.length)[0];
  await page.click('#search');
  await page.keyboard.type(word);
  check('search lists the song', await until(page, (want) => !!document.querySelector(`#search-results li[data-id="${want}"]`), pickId));
  await page.click(`#search-results li[data-id="${pickId}"]`);
  check('search plays the song', await until(page, (want) => window.__musicmap.currentId === want && !window.__musicmap.animating, pickId));
  const c = await page.evaluate((want) => window.__musicmap.project(want), pickId);
  check('and flies to it (the song is near the centre)', Math.hypot(c.x - 640, c.y - 400) < 40, JSON.stringify(c));

  // 7. similar songs and a journey
  await page.keyboard.press('s');
  check('similar songs are listed', await until(page, () => !document.getElementById('side').hidden && document.querySelectorAll('#side-list li').length > 3));
  await page.keyboard.press('0'); // the whole map again, then a destination clear of the panels
  await sleep(200);
  const now = await page.evaluate((all) => all.map((i) => window.__musicmap.project(i)), ids);
  const k = now.findIndex((p, j) => ids[j] !== pickId && p.x > 250 && p.x < 950 && p.y > 90 && p.y < 720 &&
    now.every((q, m) => m === j || Math.hypot(q.x - p.x, q.y - p.y) > 14));
  check('a destination is clear of the panels', k >= 0);
  await page.keyboard.press('j');
  await page.mouse.click(now[k].x, now[k].y);
  check('a journey lists a path of songs', await until(page, () => document.getElementById('side-title').textContent === 'Journey' && document.querySelectorAll('#side-list li').length >= 3));
  await page.keyboard.press('Escape');

  // 8. screenshot of the map; 3-D map; keyboard map switching
  await page.keyboard.press('0');
  await sleep(300);
  await page.mouse.move(5, 400);
  await page.evaluate(() => window.__musicmap.markDirty());
  await sleep(200);
  await page.screenshot({ path: path.join(artDir, 'web-map.png') });
  const m3 = maps.find((m) => m.dims === 3);
  if (m3) {
    await page.selectOption('#map-select', String(m3.id));
    check('the 3-D map shows', await until(page, (m) => window.__musicmap.mapId === m && !window.__musicmap.animating, m3.id));
    check('3-D: one point per track', (await page.evaluate(() => window.__musicmap.drawn())) === N);
    await page.screenshot({ path: path.join(artDir, 'web-map-3d.png') });
  }
  const was = await page.evaluate(() => window.__musicmap.mapId);
  await page.mouse.click(640, 300);
  await page.keyboard.press('m');
  check('m switches to the next map', await until(page, (w) => window.__musicmap.mapId !== w, was));
  await page.keyboard.press(' ');
  check('space pauses', await until(page, () => { const a = window.__musicmap.audio(); return a.decks[a.active].paused; }));
  check('no errors in the page', errors.length === 0, errors.join(' | '));

  // 9. touch: two fingers spreading apart zoom in about their midpoint, and a pinch plays nothing
  const touchCtx = await browser.newContext({ viewport: { width: 1280, height: 800 }, hasTouch: true });
  const tp = await touchCtx.newPage();
  await tp.goto(url);
  check('touch: the page becomes ready', await until(tp, () => window.__musicmap?.ready && !window.__musicmap.animating, null, 30000));
  const v0 = await tp.evaluate(() => window.__musicmap.view);
  const cdp = await touchCtx.newCDPSession(tp);
  const fingersAt = (spread) => [{ x: 640 - spread, y: 420, id: 1 }, { x: 640 + spread, y: 420, id: 2 }];
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: fingersAt(40) });
  for (let s = 50; s <= 160; s += 10) await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: fingersAt(s) });
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
  await sleep(200);
  const v1 = await tp.evaluate(() => window.__musicmap.view);
  const ratio = v1.zoom / v0.zoom;
  check('touch: spreading two fingers zooms in 4x', Math.abs(ratio - 0.25) < 0.02, `zoom ${v0.zoom} -> ${v1.zoom}`);
  // the map point under the fingers' midpoint stays under it
  const h = 800, w = 1280, at = (v) => ({ x: v.cx + (640 / w * 2 - 1) * v.zoom * (w / h), y: v.cy - (420 / h * 2 - 1) * v.zoom });
  const p0 = at(v0), p1 = at(v1);
  check('touch: the pinch zooms about the midpoint', Math.hypot(p0.x - p1.x, p0.y - p1.y) < 1e-3 * v0.zoom, JSON.stringify([p0, p1]));
  check('touch: a pinch plays nothing', (await tp.evaluate(() => window.__musicmap.currentId)) == null);
  await touchCtx.close();
} finally {
  await browser.close();
}

// 10. a browser without WebGL gets a plain message, not an empty page
const noGL = await chromium.launch({
  executablePath: process.env.CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-3d-apis', '--no-first-run'],
});
try {
  const page = await noGL.newPage();
  await page.goto(url);
  check('without WebGL: the page says why there is no map', await until(page, () => {
    const m = document.getElementById('message');
    return !m.hidden && m.textContent.includes('WebGL');
  }));
} finally {
  await noGL.close();
}
console.log(`web: ${passes} passed, ${failures} failed`);
process.exit(failures ? 1 : 0);
