// The map page in headless Firefox (Debian's firefox-esr), driven over WebDriver BiDi by puppeteer-core:
// it loads and draws one point per track, hovering shows the right title, a click plays the right track
// through the Web Audio graph, the map switches, the view fits the points at load and after the switch, the
// legend names the colouring shown, search finds a song, and nothing errors. The fuller
// Chromium suite is map.test.mjs; this one proves the page is not Chromium-only.
// Usage: node firefox.test.mjs URL N_TRACKS ARTIFACT_DIR   (env: MM_WEB_DIR, FIREFOX)
import { createRequire } from 'node:module';
import path from 'node:path';

const [url, nTracksArg, artDir] = process.argv.slice(2);
const require = createRequire(path.resolve(process.env.MM_WEB_DIR, 'package.json'));
const puppeteer = require('puppeteer-core');
const N = Number(nTracksArg);

let failures = 0, passes = 0;
function check(what, ok, detail = '') {
  if (ok) passes++; else { failures++; console.log(`FAIL (firefox): ${what}${detail ? ` (${detail})` : ''}`); }
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(page, fn, arg, ms = 15000) {
  try { await page.waitForFunction(fn, { timeout: ms, polling: 50 }, arg); return true; } catch { return false; }
}
// the view fits the map (as in map.test.mjs): the 2..98th percentile box of the points on screen spans
// >= 60 % of the window's width or height, and >= 90 % of the points are in the window
async function checkFit(page, what) {
  const { w, h, pts } = await page.evaluate(() => ({ w: window.innerWidth, h: window.innerHeight,
    pts: window.__musicmap.ids().map((id) => window.__musicmap.project(id)) }));
  const n = pts.length, lo = Math.ceil(0.02 * (n - 1)), hi = Math.floor(0.98 * (n - 1));
  const xs = pts.map((p) => p.x).sort((a, b) => a - b), ys = pts.map((p) => p.y).sort((a, b) => a - b);
  const span = Math.max((xs[hi] - xs[lo]) / w, (ys[hi] - ys[lo]) / h);
  const inside = pts.filter((p) => p.x >= 0 && p.x <= w && p.y >= 0 && p.y <= h).length / n;
  check(`fit, ${what}`, span >= 0.6 && inside >= 0.9, `span ${span.toFixed(2)}, inside ${inside.toFixed(2)}`);
}

const browser = await puppeteer.launch({
  browser: 'firefox',
  executablePath: process.env.FIREFOX,
  // Firefox's headless mode has no WebGL (bugzilla 1375585): under a virtual X display (xvfb-run) it
  // runs as a normal window, with Mesa's software GL
  headless: !process.env.DISPLAY,
  extraPrefsFirefox: {
    'webgl.force-enabled': true,           // software WebGL: there is no GPU on the test machines
    'media.autoplay.default': 0,           // allow audio without a real user gesture
    'media.autoplay.blocking_policy': 0,
    'browser.shell.checkDefaultBrowser': false,
  },
});
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 800 });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  const api = async (p) => (await fetch(new URL(p, url))).json();

  await page.goto(url);
  check('page becomes ready', await until(page, () => window.__musicmap?.ready && !window.__musicmap.animating, null, 45000));
  const drawn = await page.evaluate(() => window.__musicmap.drawn());
  check('points drawn equal the tracks', drawn === N, `drawn ${drawn}, tracks ${N}`);
  const gl = await page.evaluate(() => !!document.getElementById('map').getContext('webgl2'));
  check('the map is a WebGL2 canvas', gl);
  await checkFit(page, 'at load');
  const note = await page.evaluate(() => document.getElementById('color-note').textContent);
  const shown = await page.evaluate(() => window.__musicmap.colorBy);
  check('the legend names the colouring shown', note.startsWith(`Colours: ${shown === 'predicted' ? 'predicted genre' : 'genre tags'}`), note);

  // hover an isolated point: the tooltip names it
  const ids = await page.evaluate(() => window.__musicmap.ids());
  const where = await page.evaluate((all) => all.map((id) => window.__musicmap.project(id)), ids);
  let target = -1;
  for (let k = 0; k < ids.length && target < 0; k++) {
    const p = where[k];
    if (p.x < 260 || p.y < 90 || p.y > 720) continue;
    if (where.every((q, j) => j === k || Math.hypot(q.x - p.x, q.y - p.y) > 16)) target = k;
  }
  check('an isolated point exists', target >= 0);
  const id = ids[target], pos = where[target];
  const track = await api(`api/tracks/${id}`);
  await page.mouse.move(pos.x, pos.y);
  check('hover shows the track\'s tooltip', await until(page, (want) => {
    const t = document.getElementById('tooltip');
    return !t.hidden && t.dataset.id === String(want) && t.querySelector('.t')?.textContent !== '…';
  }, id));
  const tip = await page.evaluate(() => document.querySelector('#tooltip .t').textContent);
  check('the tooltip has the right title', tip === (track.title || track.file), `"${tip}" vs "${track.title}"`);

  // click: the Web Audio graph plays that track with its loudness gain
  await page.mouse.click(pos.x, pos.y);
  check('the audio graph plays it', await until(page, (want) => {
    const a = window.__musicmap.audio(), d = a.decks[a.active];
    return a.context === 'running' && d && d.trackId === want && !d.paused && d.time > 0.2;
  }, id, 20000));
  const audio = await page.evaluate(() => window.__musicmap.audio());
  const deck = audio.decks[audio.active];
  const wantGain = track.loudness == null ? 1 : Math.pow(10, Math.min(9, Math.max(-24, -18 - track.loudness)) / 20);
  check('gain is the loudness normalisation', deck && Math.abs(deck.norm - wantGain) < 1e-3, deck && `${deck.norm} vs ${wantGain}`);
  await page.screenshot({ path: path.join(artDir, 'web-map-firefox.png') });

  // map switching and search
  const maps = (await api('api/maps')).maps;
  const cur = await page.evaluate(() => window.__musicmap.mapId);
  const second = maps.find((m) => m.id !== cur && m.dims === 2) || maps.find((m) => m.id !== cur);
  await page.select('#map-select', String(second.id));
  check('the map switches', await until(page, (m) => window.__musicmap.mapId === m && !window.__musicmap.animating, second.id));
  await checkFit(page, 'after the switch');
  const pick = await api(`api/tracks/${ids[ids.length - 1]}`);
  await page.click('#search');
  await page.keyboard.type(pick.title.split(' ').slice(0, 2).join(' '));
  check('search lists the song', await until(page, (want) => !!document.querySelector(`#search-results li[data-id="${want}"]`), pick.id));
  await sleep(200);
  check('no errors in the page', errors.length === 0, errors.join(' | '));
} finally {
  await browser.close();
}
console.log(`web (firefox): ${passes} passed, ${failures} failed`);
process.exit(failures ? 1 : 0);
