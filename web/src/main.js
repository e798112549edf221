// musicmap's page: the collection as WebGL points (one THREE.Points, a custom shader), coloured by
// genre, hover for the song, click to hear it (Web Audio: two decks crossfading, loudness-normalised).
// Data comes from musicmap serve's API, or from data/ in a site written by `musicmap serve --export`.
import * as THREE from 'three';
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';

const STATIC = document.querySelector('meta[name="musicmap-mode"]')?.content === 'static';
const $ = (id) => document.getElementById(id);

// 20 colours that stay distinct on a dark background (the first ten are the most distinct).
const PALETTE = ['#4e9cff', '#ff6b6b', '#ffd166', '#06d6a0', '#c77dff', '#ff9f43', '#48dbfb', '#f368e0',
  '#a3e048', '#ff4d94', '#1dd1a1', '#feca57', '#8395fa', '#e17055', '#00cec9', '#fd79a8', '#badc58',
  '#e056fd', '#7ed6df', '#f0932b'];
const UNLABELLED = '#5c6370';
// icons are inline SVG: no icon font, nothing fetched
const ICON_PLAY = '<svg viewBox="0 0 16 16" width="16" height="16"><path d="M4 2.5v11l9.5-5.5z" fill="currentColor"/></svg>';
const ICON_PAUSE = '<svg viewBox="0 0 16 16" width="16" height="16"><path d="M3.5 2.5h3v11h-3zM9.5 2.5h3v11h-3z" fill="currentColor"/></svg>';
const NO_LABEL = 0xffff;
const FADE_S = 2.0;          // crossfade length
const TARGET_LUFS = -18;     // loudness every track is brought to
const MIN_GAIN_DB = -24, MAX_GAIN_DB = 9;

// ---------------------------------------------------------------------------------------------
// data access

// A server reachable beyond this machine wants its access token on every API request (docs/server.md).
// It arrives once in the printed URL (?token=...): kept for this origin, then taken out of the address
// bar (and so out of history and bookmarks). <audio> can't send headers: its URLs carry it instead.
const TOKEN_KEY = 'musicmap-token';
// the page comes from this machine: saved playlists may name the songs' files
const PAGE_ON_THIS_MACHINE = ['localhost', '127.0.0.1', '[::1]', '::1'].includes(location.hostname);
const TOKEN = (() => {
  if (STATIC) return null;
  const u = new URL(window.location.href);
  const t = u.searchParams.get('token');
  try {
    if (t) localStorage.setItem(TOKEN_KEY, t);
    if (t) { u.searchParams.delete('token'); history.replaceState(null, '', u.pathname + u.search + u.hash); }
    return t || localStorage.getItem(TOKEN_KEY);
  } catch (e) { return t; } // storage blocked: good for this load only
})();
function apiFetch(url) {
  return fetch(url, TOKEN ? { headers: { Authorization: `Bearer ${TOKEN}` } } : undefined).then((r) => {
    if (r.status === 401) showMessage('This server needs its access token: open the URL that musicmap serve printed (with ?token=…)', 15000);
    return r;
  });
}

async function getJSON(url) {
  const r = await apiFetch(url);
  if (!r.ok) throw new Error(`${url}: ${r.status}`);
  return r.json();
}

let staticIndex = null;
function playlistQuery(params) {
  const q = new URLSearchParams(params);
  if (S.map?.model_id > 0) q.set('model', String(S.map.model_id));
  return q.toString();
}
const fold = (s) => (s || '').normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();

const api = {
  maps: () => getJSON(STATIC ? 'data/maps.json' : 'api/maps'),
  points: async (id) => {
    const r = await apiFetch(STATIC ? `data/maps/${id}.bin` : `api/maps/${id}/points`);
    if (!r.ok) throw new Error(`points of map ${id}: ${r.status}`);
    return r.arrayBuffer();
  },
  track: (id) => getJSON(STATIC ? `data/tracks/${id}.json` : `api/tracks/${id}`),
  // the songs the map's latest growth placed on it (maps that grew only)
  added: (id) => getJSON(STATIC ? `data/maps/${id}.added.json` : `api/maps/${id}/added`),
  // in the space the shown map was made from (descriptors or a model's vectors)
  similar: (id) => getJSON(STATIC ? `data/tracks/${id}.similar.json`
    : `api/tracks/${id}/similar?k=12${S.map?.model_id > 0 ? `&model=${S.map.model_id}` : ''}`),
  // playlists (docs/playlists.md): kind similar | journey ..., in the shown map's space; format=m3u for a file
  playlist: (params) => getJSON(`api/playlist?${playlistQuery(params)}`),
  search: async (q) => {
    if (!STATIC) return (await getJSON(`api/search?q=${encodeURIComponent(q)}&limit=20`)).results;
    if (!staticIndex) {
      staticIndex = (await getJSON('data/search.json')).map((t) => ({ t, key: fold(`${t.title} ${t.artist} ${t.album}`) }));
    }
    const words = fold(q).split(/\s+/).filter(Boolean);
    if (!words.length) return [];
    return staticIndex.filter((e) => words.every((w) => e.key.includes(w))).slice(0, 20).map((e) => e.t);
  },
  audioUrl: (t) => {
    if (!STATIC) return `api/tracks/${t.id}/audio${TOKEN ? `?token=${encodeURIComponent(TOKEN)}` : ''}`;
    const ext = { 'audio/mpeg': 'mp3', 'audio/flac': 'flac', 'audio/ogg': 'ogg', 'audio/webm': 'webm',
      'audio/mp4': 'm4a', 'audio/aac': 'aac', 'audio/wav': 'wav' }[t.audio?.content_type] || 'mp3';
    return `data/audio/${t.id}.${ext}`;
  },
};

// Track details, cached (hover asks for the same ones again and again).
const trackCache = new Map();
function getTrack(id) {
  let p = trackCache.get(id);
  if (!p) {
    p = api.track(id).catch((e) => { trackCache.delete(id); throw e; });
    trackCache.set(id, p);
    if (trackCache.size > 5000) trackCache.delete(trackCache.keys().next().value);
  }
  return p;
}

// The points format (docs/server.md): a 32-byte header, float32 coords, u32 ids, u16 labels x 2, JSON.
function decodePoints(buf) {
  const dv = new DataView(buf);
  const magic = String.fromCharCode(dv.getUint8(0), dv.getUint8(1), dv.getUint8(2), dv.getUint8(3));
  if (magic !== 'MMPT' || dv.getUint32(4, true) !== 1) throw new Error('not a musicmap points file (v1)');
  const n = dv.getUint32(8, true), dims = dv.getUint32(12, true), jsonLen = dv.getUint32(16, true);
  let off = 32;
  const coords = new Float32Array(buf, off, n * dims); off += n * dims * 4;
  const ids = new Uint32Array(buf, off, n); off += n * 4;
  const pred = new Uint16Array(buf, off, n); off += n * 2;
  const tag = new Uint16Array(buf, off, n); off += n * 2;
  const labels = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, off, jsonLen)));
  // Centred on the bulk of the points and scaled so that it spans [-1, 1] (its largest extent), so maps of
  // any method share one view and a few far outliers neither shrink the rest nor move its centre; the
  // outliers lie outside [-1, 1].
  const lo = [0, 0, 0], hi = [0, 0, 0];
  let ext = 0, full = 0;
  for (let d = 0; d < dims; d++) {
    const v = sortedSample(n, (i) => coords[i * dims + d]);
    [lo[d], hi[d]] = robustRange(v);
    ext = Math.max(ext, (hi[d] - lo[d]) / 2);
    if (v.length) full = Math.max(full, (v[v.length - 1] - v[0]) / 2);
  }
  ext = Math.max(ext, full * 1e-4, 1e-9); // a bulk of one spot: the whole extent decides
  const mid = lo.map((l, d) => (l + hi[d]) / 2);
  const pos = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) for (let d = 0; d < dims; d++) {
    const v = (coords[i * dims + d] - mid[d]) / ext;
    pos[i * 3 + d] = Number.isFinite(v) ? v : 0;
  }
  // what a 2-D fit shows: that box
  const box = [0, 1, 2].map((d) => [(lo[d] - mid[d]) / ext, (hi[d] - mid[d]) / ext]);
  const index = new Map();
  for (let i = 0; i < n; i++) index.set(ids[i], i);
  return { n, dims, ids, pred, tag, labels, pos, index, box };
}

// Up to FIT_SAMPLE of the values (evenly spread over the points), finite ones, sorted.
const FIT_SAMPLE = 20000;
function sortedSample(n, value) {
  const m = Math.min(n, FIT_SAMPLE), v = new Float32Array(m);
  let k = 0;
  for (let s = 0; s < m; s++) {
    const x = value(Math.floor(s * n / m));
    if (Number.isFinite(x)) v[k++] = x;
  }
  return v.subarray(0, k).sort();
}

// The range of the bulk of sorted values: the 1st..99th percentile, less the outermost few points at either
// end (up to 2 % of them, or 2 on a small map) when a gap wider than the middle 80 % of the values parts
// them from the rest. A small map keeps all its points unless some are far off; a big one leaves out its
// outer 1 % as well.
function robustRange(v) {
  const m = v.length;
  if (!m) return [0, 0];
  const trim = Math.floor(m * 0.01);
  let a = trim, b = m - 1 - trim;
  if (m >= 5) {
    let core = v[Math.floor(0.9 * (m - 1))] - v[Math.ceil(0.1 * (m - 1))];
    if (!(core > 0)) core = v[b] - v[a];
    const most = Math.max(2, Math.ceil(m * 0.02));
    let cut = 0;
    for (let j = 1; j <= most && a + j < b; j++) if (v[a + j] - v[a + j - 1] > core) cut = j;
    a += cut;
    cut = 0;
    for (let j = 1; j <= most && b - j > a; j++) if (v[b - j + 1] - v[b - j] > core) cut = j;
    b -= cut;
  }
  return [v[a], v[b]];
}

// ---------------------------------------------------------------------------------------------
// state

const S = {
  maps: [], map: null, pts: null, cache: new Map(),
  colorBy: 'predicted', colorChoice: null, hidden: new Set(), // colorChoice: the user's own, this session
  hover: -1, currentId: null, current: null,
  queue: [], journeyPick: false, journey: null, sidePlaylist: null,
  view: { cx: 0, cy: 0, zoom: 1.3 },    // 2-D: centre and half-height in map units
  fitZoom: 1.3, fitDist: 3.2,           // the fitted view's zoom (2-D) and camera distance (3-D)
  fitted: false,                        // the view is the fit, untouched since: a resize fits again
  anim: null, flight: null, dirty: true,
  frames: 0, firstPaint: null,
};

// ---------------------------------------------------------------------------------------------
// WebGL

const canvas = $('map');
let renderer;
try {
  renderer = new THREE.WebGLRenderer({ canvas, antialias: false, powerPreference: 'high-performance' });
} catch (e) {
  // Without WebGL there is no map to draw: say so plainly instead of leaving an empty page.
  const m = document.getElementById('message');
  m.textContent = 'This browser can\'t draw the map: WebGL is not available. Turn on hardware acceleration in its ' +
    'settings, or open the page in another browser.';
  m.hidden = false;
  throw new Error(`musicmap: no WebGL (${e.message})`);
}
renderer.setPixelRatio(Math.min(window.devicePixelRatio || 1, 2));
renderer.setClearColor(0x0b0d12, 1);
const scene = new THREE.Scene();
const cam2 = new THREE.OrthographicCamera(-1, 1, 1, -1, -10, 10);
const cam3 = new THREE.PerspectiveCamera(50, 1, 0.01, 100);
cam3.position.set(0, 0, 3.2);
const controls = new OrbitControls(cam3, canvas);
controls.enableDamping = true;
controls.enabled = false;
controls.addEventListener('change', () => { S.dirty = true; });
controls.addEventListener('start', () => { S.fitted = false; if (S.flight?.to3) S.flight = null; });
let camera = cam2;

const pointsVS = `
attribute vec3 position0;
attribute vec4 aColor;
uniform float uT, uSize, uPixelRatio, uPersp;
varying vec4 vColor;
void main() {
  float t = uT * uT * (3.0 - 2.0 * uT);
  vec3 p = mix(position0, position, t);
  vec4 mv = modelViewMatrix * vec4(p, 1.0);
  gl_Position = projectionMatrix * mv;
  float s = uPersp > 0.5 ? uSize * 3.0 / max(-mv.z, 0.05) : uSize;
  gl_PointSize = aColor.a < 0.01 ? 0.0 : max(s, 1.5) * uPixelRatio;
  vColor = aColor;
}`;
const pointsFS = `
varying vec4 vColor;
void main() {
  vec2 d = gl_PointCoord - 0.5;
  float r = length(d);
  if (r > 0.5) discard;
  gl_FragColor = vec4(vColor.rgb * (1.0 - 0.25 * smoothstep(0.2, 0.5, r)), vColor.a * smoothstep(0.5, 0.4, r));
}`;
const material = new THREE.ShaderMaterial({
  uniforms: { uT: { value: 1 }, uSize: { value: 6 }, uPixelRatio: { value: renderer.getPixelRatio() }, uPersp: { value: 0 } },
  vertexShader: pointsVS, fragmentShader: pointsFS, transparent: true, depthWrite: false,
});
let geometry = new THREE.BufferGeometry();
const cloud = new THREE.Points(geometry, material);
cloud.frustumCulled = false;
scene.add(cloud);

// Markers: a ring on the hovered point and on the one playing.
const markerMat = new THREE.ShaderMaterial({
  uniforms: { uSize: { value: 26 }, uPixelRatio: { value: renderer.getPixelRatio() } },
  vertexShader: `attribute vec3 aCol; varying vec3 vCol; uniform float uSize, uPixelRatio;
    void main() { gl_Position = projectionMatrix * modelViewMatrix * vec4(position, 1.0); gl_PointSize = uSize * uPixelRatio; vCol = aCol; }`,
  fragmentShader: `varying vec3 vCol; void main() { float r = length(gl_PointCoord - 0.5);
    float a = smoothstep(0.36, 0.40, r) * smoothstep(0.5, 0.46, r); if (a < 0.01) discard; gl_FragColor = vec4(vCol, a); }`,
  transparent: true, depthTest: false, depthWrite: false,
});
const markerGeo = new THREE.BufferGeometry();
markerGeo.setAttribute('position', new THREE.BufferAttribute(new Float32Array(6), 3));
markerGeo.setAttribute('aCol', new THREE.BufferAttribute(new Float32Array([1, 1, 1, 0.31, 0.61, 1]), 3));
markerGeo.setDrawRange(0, 0);
const markers = new THREE.Points(markerGeo, markerMat);
markers.frustumCulled = false;
markers.renderOrder = 2;
scene.add(markers);

// Songs new on a grown map: a warm ring each, shown the first time the map is seen after it grew.
const newMat = markerMat.clone();
newMat.uniforms = { uSize: { value: 20 }, uPixelRatio: { value: renderer.getPixelRatio() } };
const newGeo = new THREE.BufferGeometry();
const newMarks = new THREE.Points(newGeo, newMat);
newMarks.frustumCulled = false;
newMarks.renderOrder = 1;
newMarks.visible = false;
scene.add(newMarks);
let newRows = null; // rows of S.pts that are ringed

function updateNewMarks() {
  if (!newRows || !S.pts) return;
  const a = newGeo.attributes.position.array, v = new THREE.Vector3();
  newRows.forEach((i, k) => { pointPos(i, v); a[k * 3] = v.x; a[k * 3 + 1] = v.y; a[k * 3 + 2] = v.z; });
  newGeo.attributes.position.needsUpdate = true;
}

function clearNewMarks() { newRows = null; newMarks.visible = false; S.dirty = true; }

// Once per growth of a map (remembered in this browser): which songs joined it since it was drawn.
async function showNewSongs(m) {
  clearNewMarks();
  if (!(m.generation > 0)) return;
  const key = `mm.seen.${m.id}.${m.created_at}`;
  try { if (localStorage.getItem(key) === String(m.generation)) return; } catch (e) { return; }
  let r;
  try { r = await api.added(m.id); } catch (e) { return; }
  if (S.map !== m || !Array.isArray(r.ids) || !r.ids.length) return;
  const rows = r.ids.map((id) => S.pts.index.get(id)).filter((i) => i !== undefined);
  if (!rows.length) return;
  newRows = rows;
  newGeo.setAttribute('position', new THREE.BufferAttribute(new Float32Array(rows.length * 3), 3));
  newGeo.setAttribute('aCol', new THREE.BufferAttribute(new Float32Array(rows.length * 3).fill(1).map((x, k) => [1, 0.72, 0.25][k % 3]), 3));
  updateNewMarks();
  newMarks.visible = true;
  S.dirty = true;
  try { localStorage.setItem(key, String(m.generation)); } catch (e) { /* private mode */ }
  showMessage(`${rows.length.toLocaleString()} new song${rows.length > 1 ? 's' : ''} on this map, ringed in amber: placed among the songs most like them; the others kept their places`, 8000);
}

// The journey's path.
const pathGeo = new THREE.BufferGeometry();
const pathLine = new THREE.Line(pathGeo, new THREE.LineBasicMaterial({ color: 0xffffff, transparent: true, opacity: 0.55 }));
pathLine.frustumCulled = false;
pathLine.visible = false;
scene.add(pathLine);

function pointSize(n) {
  return n < 1000 ? 11 : n < 10000 ? 7 : n < 50000 ? 5 : n < 200000 ? 3.5 : n < 600000 ? 2.5 : 2;
}

function resize() {
  const w = window.innerWidth, h = window.innerHeight;
  renderer.setSize(w, h, false);
  cam3.aspect = w / h;
  cam3.updateProjectionMatrix();
  updateCam2();
  if (S.fitted && S.pts) fitView();
}

function updateCam2() {
  const w = window.innerWidth, h = window.innerHeight, { cx, cy, zoom } = S.view;
  const a = w / h;
  cam2.left = cx - zoom * a; cam2.right = cx + zoom * a; cam2.top = cy + zoom; cam2.bottom = cy - zoom;
  cam2.updateProjectionMatrix();
  // points grow a little as one zooms in, so dense clusters open up
  if (S.pts) {
    material.uniforms.uSize.value = S.pts.dims === 3 ? pointSize(S.pts.n) * 0.8
      : pointSize(S.pts.n) * Math.min(4, Math.max(1, Math.pow(S.fitZoom / zoom, 0.4)));
  }
  S.dirty = true;
}

// Current on-screen position of point i (during a map switch, between the two layouts).
function easeT() { const t = material.uniforms.uT.value; return t * t * (3 - 2 * t); }
function pointPos(i, out = new THREE.Vector3()) {
  const p = geometry.attributes.position.array, p0 = geometry.attributes.position0.array, t = easeT();
  return out.set(p0[i * 3] + (p[i * 3] - p0[i * 3]) * t, p0[i * 3 + 1] + (p[i * 3 + 1] - p0[i * 3 + 1]) * t,
    p0[i * 3 + 2] + (p[i * 3 + 2] - p0[i * 3 + 2]) * t);
}

function toScreen(v) {
  const p = v.clone().project(camera);
  return { x: (p.x + 1) / 2 * window.innerWidth, y: (1 - p.y) / 2 * window.innerHeight, z: p.z };
}

// ---------------------------------------------------------------------------------------------
// colours and the legend

// sRGB bytes straight into the vertex colours: the shader writes them unconverted, like the CSS legend
const rgb = (hex) => [1, 3, 5].map((k) => parseInt(hex.slice(k, k + 2), 16));
const colorCache = PALETTE.map(rgb);
const greyColor = rgb(UNLABELLED);

function labelNames() {
  const L = S.pts?.labels || {};
  return (S.colorBy === 'predicted' ? L.predicted : L.tagged) || [];
}
function labelOf(i) { return S.colorBy === 'predicted' ? S.pts.pred[i] : S.pts.tag[i]; }
function colorOf(label) { return label === NO_LABEL ? UNLABELLED : PALETTE[label % PALETTE.length]; }

function applyColors() {
  const pts = S.pts;
  if (!pts) return;
  let attr = geometry.getAttribute('aColor');
  if (!attr || attr.count !== pts.n) {
    attr = new THREE.BufferAttribute(new Uint8Array(pts.n * 4), 4, true);
    geometry.setAttribute('aColor', attr);
  }
  const a = attr.array, alpha = pts.n > 200000 ? 200 : 235;
  for (let i = 0; i < pts.n; i++) {
    const l = labelOf(i);
    const c = l === NO_LABEL ? greyColor : colorCache[l % PALETTE.length];
    a[i * 4] = c[0]; a[i * 4 + 1] = c[1]; a[i * 4 + 2] = c[2];
    a[i * 4 + 3] = S.hidden.has(l) ? 0 : alpha;
  }
  attr.needsUpdate = true;
  S.dirty = true;
  renderLegend();
}

// What `map --features` names, in the words the page uses.
const FEATURE_WORDS = { softmax: 'genre outputs', hidden: 'hidden states', mel: 'raw spectrograms', descriptors: 'audio descriptors' };
const MODEL_FREE = new Set(['mel', 'descriptors']); // made without a trained model

// One line on which colouring is shown and how far the map's model can be trusted: /api/maps gives each
// map `colors` {default, model_accuracy (held-out; null: unknown), bound, features}; older servers don't.
function colorNote() {
  const m = S.map || {}, c = m.colors && typeof m.colors === 'object' ? m.colors : null;
  const what = S.colorBy === 'predicted' ? 'predicted genre' : 'genre tags';
  const acc = Number.isFinite(c?.model_accuracy) ? c.model_accuracy : null;
  const bound = Number.isFinite(c?.bound) ? c.bound : null;
  let why = '';
  if (c && MODEL_FREE.has(c.features)) why = 'the map is made without a genre model';
  else if (!S.pts?.labels.predicted?.length || (c && m.model_id == null && m.model == null)) why = 'no trained model';
  else if (!c) why = '';
  else if (acc == null) why = 'the model\'s held-out accuracy is unknown';
  else if (bound != null && acc < bound) why = `the model's held-out accuracy ${acc.toFixed(2)} is below ${bound.toFixed(2)}`;
  else why = `the model's held-out accuracy ${acc.toFixed(2)}`;
  return `Colours: ${what}${why ? ` (${why})` : ''}`;
}

function renderLegend() {
  $('color-note').textContent = colorNote();
  const names = labelNames(), pts = S.pts, counts = new Map();
  for (let i = 0; i < pts.n; i++) { const l = labelOf(i); counts.set(l, (counts.get(l) || 0) + 1); }
  const list = $('legend-list');
  list.textContent = '';
  const entries = names.map((name, l) => ({ l, name, count: counts.get(l) || 0 }));
  if (counts.get(NO_LABEL)) entries.push({ l: NO_LABEL, name: S.colorBy === 'predicted' ? '(no prediction)' : '(untagged)', count: counts.get(NO_LABEL) });
  for (const e of entries) {
    if (!e.count) continue;
    const li = document.createElement('li');
    li.dataset.label = e.l;
    if (S.hidden.has(e.l)) li.classList.add('off');
    li.innerHTML = '<span class="sw"></span><span class="name"></span><span class="count"></span>';
    li.querySelector('.sw').style.background = colorOf(e.l);
    li.querySelector('.name').textContent = e.name;
    li.querySelector('.count').textContent = e.count.toLocaleString();
    li.title = `${e.name}: ${e.count} songs`;
    li.addEventListener('click', (ev) => {
      if (ev.shiftKey) {
        S.hidden = new Set(entries.map((x) => x.l).filter((l) => l !== e.l));
      } else if (S.hidden.has(e.l)) S.hidden.delete(e.l); else S.hidden.add(e.l);
      applyColors();
    });
    list.appendChild(li);
  }
}

$('legend-all').addEventListener('click', () => { S.hidden.clear(); applyColors(); });
$('color-by').addEventListener('change', (e) => {
  S.colorBy = S.colorChoice = e.target.value;
  S.hidden.clear();
  applyColors();
});

// ---------------------------------------------------------------------------------------------
// picking: a uniform grid over the 2-D layout (3-D maps project the points instead)

let grid = null;
function buildGrid() {
  const { n, pos } = S.pts;
  const G = Math.max(8, Math.min(1024, Math.ceil(Math.sqrt(n / 2))));
  const cellOf = (x) => Math.min(G - 1, Math.max(0, Math.floor((x + 1.0001) / 2.0002 * G)));
  const counts = new Uint32Array(G * G + 1), cell = new Uint32Array(n);
  for (let i = 0; i < n; i++) { cell[i] = cellOf(pos[i * 3 + 1]) * G + cellOf(pos[i * 3]); counts[cell[i] + 1]++; }
  for (let c = 0; c < G * G; c++) counts[c + 1] += counts[c];
  const start = counts.slice(), items = new Uint32Array(n), fill = counts.slice(0, G * G);
  for (let i = 0; i < n; i++) items[fill[cell[i]]++] = i;
  grid = { G, start, items, cellOf };
}

function visible(i) { return !S.hidden.has(labelOf(i)); }

// The nearest visible point to a screen position, within radius px, or -1.
function pick(sx, sy, radius = 10) {
  const pts = S.pts;
  if (!pts) return -1;
  if (pts.dims === 2 && grid && !S.anim) {
    const w = window.innerWidth, h = window.innerHeight, { cx, cy, zoom } = S.view;
    const wx = cx + (sx / w * 2 - 1) * zoom * (w / h), wy = cy - (sy / h * 2 - 1) * zoom;
    const perPx = 2 * zoom / h, r = radius * perPx;
    const { G, start, items, cellOf } = grid, p = pts.pos;
    const x0 = cellOf(wx - r), x1 = cellOf(wx + r), y0 = cellOf(wy - r), y1 = cellOf(wy + r);
    let best = -1, bestD = r * r;
    for (let gy = y0; gy <= y1; gy++) for (let gx = x0; gx <= x1; gx++) {
      const c = gy * G + gx;
      for (let k = start[c]; k < start[c + 1]; k++) {
        const i = items[k], dx = p[i * 3] - wx, dy = p[i * 3 + 1] - wy, d = dx * dx + dy * dy;
        if (d <= bestD && visible(i)) { bestD = d; best = i; }
      }
    }
    return best;
  }
  // 3-D (or mid-animation): project every point; fine for hover at 1M points (a few ms)
  const m = new THREE.Matrix4().multiplyMatrices(camera.projectionMatrix, camera.matrixWorldInverse).elements;
  const w = window.innerWidth, h = window.innerHeight, v = new THREE.Vector3();
  let best = -1, bestD = radius * radius, bestZ = Infinity;
  for (let i = 0; i < pts.n; i++) {
    if (!visible(i)) continue;
    pointPos(i, v);
    const cw = m[3] * v.x + m[7] * v.y + m[11] * v.z + m[15];
    if (cw <= 0) continue;
    const px = ((m[0] * v.x + m[4] * v.y + m[8] * v.z + m[12]) / cw + 1) / 2 * w;
    const py = (1 - (m[1] * v.x + m[5] * v.y + m[9] * v.z + m[13]) / cw) / 2 * h;
    const d = (px - sx) ** 2 + (py - sy) ** 2;
    if (d < bestD || (d === bestD && cw < bestZ)) { bestD = d; best = i; bestZ = cw; }
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// maps: loading and switching (points glide from the old layout to the new one)

function describeMap(m) {
  const p = m.params && typeof m.params === 'object'
    ? Object.entries(m.params).slice(0, 3).map(([k, v]) => `${k} ${v}`).join(', ') : '';
  return `${m.name} — ${m.method.toUpperCase()} ${m.dims}-D${p ? ` (${p})` : ''}`;
}

async function loadPoints(id) {
  if (!S.cache.has(id)) S.cache.set(id, api.points(id).then(decodePoints));
  return S.cache.get(id);
}

async function showMap(id) {
  const m = S.maps.find((x) => x.id === id);
  if (!m) return;
  const pts = await loadPoints(id);
  const old = S.pts, oldGeo = geometry;
  const prev = new Float32Array(pts.n * 3);
  if (old) {
    const v = new THREE.Vector3();
    for (let i = 0; i < pts.n; i++) {
      const j = old.index.get(pts.ids[i]);
      if (j === undefined) continue; // new on this map: grows out of the centre
      pointPos(j, v);
      prev[i * 3] = v.x; prev[i * 3 + 1] = v.y; prev[i * 3 + 2] = v.z;
    }
  }
  if (!old || old.n !== pts.n) {
    geometry = new THREE.BufferGeometry();
    cloud.geometry = geometry;
    oldGeo.dispose();
  }
  geometry.setAttribute('position', new THREE.BufferAttribute(pts.pos, 3));
  geometry.setAttribute('position0', new THREE.BufferAttribute(prev, 3));
  geometry.setDrawRange(0, pts.n);
  S.pts = pts;
  S.map = m;
  grid = null;
  if (pts.dims === 2) buildGrid();
  const dimsChanged = !old || old.dims !== pts.dims;
  if (dimsChanged) {
    camera = pts.dims === 3 ? cam3 : cam2;
    controls.enabled = pts.dims === 3;
    material.uniforms.uPersp.value = pts.dims === 3 ? 1 : 0;
  }
  // The colouring: the user's choice in this session, else the map's default (the server says which:
  // the tags when its model's held-out accuracy is low or unknown), else the prediction; then whichever
  // of the two this map has.
  const sel = $('color-by'), was = S.colorBy;
  const def = ['predicted', 'tagged'].includes(m.colors?.default) ? m.colors.default : 'predicted';
  S.colorBy = S.colorChoice || def;
  sel.options[0].disabled = !pts.labels.predicted?.length;
  if (!pts.labels.predicted?.length && S.colorBy === 'predicted') S.colorBy = 'tagged';
  if (!pts.labels.tagged?.length && pts.labels.predicted?.length) S.colorBy = 'predicted';
  sel.value = S.colorBy;
  if (S.hidden.size && old && (was !== S.colorBy || old.labels.predicted?.join() !== pts.labels.predicted?.join() || old.labels.tagged?.join() !== pts.labels.tagged?.join())) S.hidden.clear();
  applyColors();
  // the view fits the new map: at once for the first map or a change between 2-D and 3-D, else it
  // moves there with the points
  const ms = old ? 1100 : 900;
  fitView(old && !dimsChanged ? ms : 0, { keepDirection: !dimsChanged });
  updateCam2(); // the points' size for the new map
  material.uniforms.uT.value = 0;
  S.anim = { start: performance.now(), ms };
  $('map-select').value = String(id);
  // what the map was made from: the features the server names (newer servers), else the model's output
  const features = typeof m.colors?.features === 'string' && m.colors.features ? m.colors.features : null;
  const from = features ? `${FEATURE_WORDS[features] || features}${m.model && !MODEL_FREE.has(features) ? ` · model ${m.model}` : ''}`
    : `${m.model || 'model'} ${m.source || ''}`;
  $('stats').textContent = `${pts.n.toLocaleString()} songs · ${String(m.method || '').toUpperCase()} of ${from}`;
  if (S.journey) clearJourney();
  try { history.replaceState(null, '', `#map=${id}`); } catch (e) { /* file:// */ }
  S.dirty = true;
  showNewSongs(m);
}

async function cycleMap(step) {
  if (S.maps.length < 2 || !S.map) return;
  const i = S.maps.findIndex((m) => m.id === S.map.id);
  await showMap(S.maps[(i + step + S.maps.length) % S.maps.length].id);
}

$('map-select').addEventListener('change', (e) => showMap(Number(e.target.value)));

// ---------------------------------------------------------------------------------------------
// view: 2-D pan and zoom, fly-to

const MIN_ZOOM = 0.0005, maxZoom = () => Math.max(4, 3 * S.fitZoom);

function zoomAt(sx, sy, factor) {
  const w = window.innerWidth, h = window.innerHeight, v = S.view;
  const wx = v.cx + (sx / w * 2 - 1) * v.zoom * (w / h), wy = v.cy - (sy / h * 2 - 1) * v.zoom;
  const z = Math.min(maxZoom(), Math.max(MIN_ZOOM, v.zoom * factor));
  S.fitted = false;
  v.cx = wx - (wx - v.cx) * (z / v.zoom);
  v.cy = wy - (wy - v.cy) * (z / v.zoom);
  v.zoom = z;
  updateCam2();
}

function flyTo(i) {
  if (i < 0 || !S.pts) return;
  const target = pointPos(i);
  S.fitted = false;
  if (S.pts.dims === 2) {
    const to = { cx: target.x, cy: target.y, zoom: Math.min(S.view.zoom, 0.19 * S.fitZoom) };
    S.flight = { from: { ...S.view }, to, start: performance.now(), ms: 800 };
  } else {
    const dir = cam3.position.clone().sub(controls.target).normalize();
    S.flight = { from3: { p: cam3.position.clone(), t: controls.target.clone() },
      to3: { p: target.clone().add(dir.multiplyScalar(0.25 * S.fitDist)), t: target.clone() }, start: performance.now(), ms: 900 };
  }
}

// The part of the window that the panels leave free: below the top bar, above the player, right of the
// legend (when there is room enough for the map beside them).
function freeRect() {
  const w = window.innerWidth, h = window.innerHeight, pad = 8;
  const box = (id) => { const r = $(id)?.getBoundingClientRect(); return r && r.width && r.height ? r : null; };
  const top = box('top'), player = box('player'), legend = box('legend');
  let L = pad, T = (top ? top.bottom : 0) + pad, R = w - pad, B = (player ? player.top : h) - pad;
  if (legend && legend.right < w / 2) L = legend.right + pad;
  if (R - L < 0.4 * w) { L = 0; R = w; }
  if (B - T < 0.4 * h) { T = 0; B = h; }
  return { L, T, R, B, w, h };
}

// The view that shows the bulk of the map (its box, from decodePoints: the 1st..99th percentile less far
// outliers) as large as the free part of the window allows, with a small margin.
function fit2(pts) {
  const f = freeRect(), [x0, x1] = pts.box[0], [y0, y1] = pts.box[1];
  const m = 0.05 * Math.max(x1 - x0, y1 - y0, 1e-6);
  const zoom = Math.min(maxZoom(), Math.max(MIN_ZOOM,
    (y1 - y0 + 2 * m) * f.h / (2 * (f.B - f.T)), (x1 - x0 + 2 * m) * f.h / (2 * (f.R - f.L))));
  const k = 2 * zoom / f.h; // map units per pixel
  return { cx: (x0 + x1) / 2 - ((f.L + f.R) / 2 - f.w / 2) * k, cy: (y0 + y1) / 2 + ((f.T + f.B) / 2 - f.h / 2) * k, zoom };
}

// 3-D: looking at the centre of the bulk's box from direction dir, the camera distance at which the bulk
// fits in the free part of the window (kept about the window's centre, where OrbitControls turns): each
// point fits from distance z + max(|x| / tan(fov_x / 2), |y| / tan(fov_y / 2)) in the camera's frame (z
// towards the camera), and the distance is the high end of robustRange over those, with a small margin.
function fit3(pts, dir) {
  const f = freeRect(), tanV = Math.tan(cam3.fov * Math.PI / 360);
  const halfH = Math.min(f.h / 2 - f.T, f.B - f.h / 2), halfW = Math.min(f.w / 2 - f.L, f.R - f.w / 2);
  const tanY = tanV * (halfH > 0 ? halfH / (f.h / 2) : 1), tanX = tanV * (f.w / f.h) * (halfW > 0 ? halfW / (f.w / 2) : 1);
  const target = new THREE.Vector3(...[0, 1, 2].map((d) => (pts.box[d][0] + pts.box[d][1]) / 2));
  const back = dir.clone().normalize(), up = Math.abs(back.y) > 0.999 ? new THREE.Vector3(0, 0, -1) : new THREE.Vector3(0, 1, 0);
  const right = new THREE.Vector3().crossVectors(up, back).normalize();
  up.crossVectors(back, right);
  const p = pts.pos, v = new THREE.Vector3(), margin = 1.05;
  const dist = sortedSample(pts.n, (i) => {
    v.set(p[i * 3], p[i * 3 + 1], p[i * 3 + 2]).sub(target);
    return v.dot(back) + margin * Math.max(Math.abs(v.dot(right)) / tanX, Math.abs(v.dot(up)) / tanY);
  });
  const d = Math.max(robustRange(dist)[1], 0.05);
  return { target, d };
}

// Fit the view to the map shown: at once, or flying there in ms; a 3-D map keeps the direction it is
// seen from unless told otherwise (then it is seen from the front).
function fitView(ms = 0, { keepDirection = true } = {}) {
  const pts = S.pts;
  if (!pts) return;
  S.fitted = true;
  const start = performance.now();
  if (pts.dims === 2) {
    const to = fit2(pts);
    S.fitZoom = to.zoom;
    if (ms) S.flight = { from: { ...S.view }, to, start, ms };
    else { S.flight = null; S.view = to; updateCam2(); }
  } else {
    const dir = cam3.position.clone().sub(controls.target);
    if (!keepDirection || dir.lengthSq() < 1e-12) dir.set(0, 0, 1);
    dir.normalize();
    const { target, d } = fit3(pts, dir);
    S.fitDist = d;
    const to3 = { p: target.clone().addScaledVector(dir, d), t: target };
    if (ms) S.flight = { from3: { p: cam3.position.clone(), t: controls.target.clone() }, to3, start, ms };
    else { S.flight = null; cam3.position.copy(to3.p); controls.target.copy(to3.t); controls.update(); }
  }
  S.dirty = true;
}

// Two fingers on a 2-D map: pinch zooms about their midpoint and moving them pans (one finger pans like
// the mouse). 3-D maps leave touch to OrbitControls.
const fingers = new Map(); // pointerId -> {x, y}
let pinch = null;
function pinchNow() {
  const [a, b] = [...fingers.values()];
  return { d: Math.max(1, Math.hypot(a.x - b.x, a.y - b.y)), x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
}
function endFinger(e) {
  fingers.delete(e.pointerId);
  if (pinch && fingers.size < 2) { pinch = null; drag = null; canvas.classList.remove('dragging'); }
}

let drag = null;
canvas.addEventListener('pointerdown', (e) => {
  canvas.focus();
  if (e.pointerType === 'touch') fingers.set(e.pointerId, { x: e.clientX, y: e.clientY });
  if (fingers.size === 2 && S.pts?.dims === 2) {
    pinch = pinchNow();
    drag = null; // a pinch is never a click
    S.flight = null;
    hideTooltip();
  } else {
    drag = { x: e.clientX, y: e.clientY, moved: false, cx: S.view.cx, cy: S.view.cy };
  }
  if (S.pts?.dims === 2) canvas.setPointerCapture(e.pointerId);
});
canvas.addEventListener('pointercancel', endFinger);
canvas.addEventListener('pointermove', (e) => {
  if (fingers.has(e.pointerId)) fingers.set(e.pointerId, { x: e.clientX, y: e.clientY });
  if (pinch) {
    if (fingers.size !== 2) return;
    const p = pinchNow(), k = 2 * S.view.zoom / window.innerHeight;
    S.view.cx -= (p.x - pinch.x) * k;
    S.view.cy += (p.y - pinch.y) * k;
    zoomAt(p.x, p.y, pinch.d / p.d);
    pinch = p;
    return;
  }
  if (drag && (Math.abs(e.clientX - drag.x) + Math.abs(e.clientY - drag.y) > 4)) drag.moved = true;
  if (drag && drag.moved && S.pts?.dims === 2) {
    const h = window.innerHeight, k = 2 * S.view.zoom / h;
    S.view.cx = drag.cx - (e.clientX - drag.x) * k;
    S.view.cy = drag.cy + (e.clientY - drag.y) * k;
    S.flight = null;
    S.fitted = false;
    canvas.classList.add('dragging');
    updateCam2();
    hideTooltip();
    return;
  }
  scheduleHover(e.clientX, e.clientY);
});
canvas.addEventListener('pointerup', (e) => {
  if (pinch) { endFinger(e); return; }
  fingers.delete(e.pointerId);
  const d = drag;
  drag = null;
  canvas.classList.remove('dragging');
  if (d && !d.moved && e.button === 0) {
    const i = pick(e.clientX, e.clientY, 12);
    if (i >= 0) choose(i);
  }
});
canvas.addEventListener('pointerleave', () => { if (!drag) hideTooltip(); });
canvas.addEventListener('wheel', (e) => {
  if (S.pts?.dims !== 2) return; // OrbitControls zooms 3-D maps
  e.preventDefault();
  S.flight = null;
  zoomAt(e.clientX, e.clientY, Math.exp(e.deltaY * (e.deltaMode === 1 ? 0.05 : 0.0015)));
  hideTooltip();
}, { passive: false });
canvas.addEventListener('dblclick', (e) => { if (S.pts?.dims === 2) zoomAt(e.clientX, e.clientY, 0.5); });
window.addEventListener('resize', resize);

// ---------------------------------------------------------------------------------------------
// hover tooltip

let hoverReq = null;
function scheduleHover(x, y) {
  if (hoverReq) { hoverReq.x = x; hoverReq.y = y; return; }
  hoverReq = { x, y };
  requestAnimationFrame(() => {
    const { x: hx, y: hy } = hoverReq;
    hoverReq = null;
    const i = pick(hx, hy, 10);
    setHover(i, hx, hy);
  });
}

function setHover(i, x, y) {
  S.hover = i;
  updateMarkers();
  const tip = $('tooltip');
  if (i < 0) { hideTooltip(); canvas.style.cursor = ''; return; }
  canvas.style.cursor = 'pointer';
  const id = S.pts.ids[i], l = labelOf(i), names = labelNames();
  tip.hidden = false;
  tip.dataset.id = id;
  tip.style.left = `${Math.min(x + 14, window.innerWidth - 330)}px`;
  tip.style.top = `${Math.min(y + 14, window.innerHeight - 90)}px`;
  const render = (t) => {
    if (S.hover !== i) return;
    tip.innerHTML = '<div class="t"></div><div class="a"></div><div class="g"><span class="sw"></span><span class="gn"></span></div>';
    tip.querySelector('.t').textContent = t ? (t.title || t.file || `track ${id}`) : '…';
    tip.querySelector('.a').textContent = t ? [t.artist, t.album].filter(Boolean).join(' — ') : '';
    tip.querySelector('.sw').style.background = colorOf(l);
    const genre = l === NO_LABEL ? (S.colorBy === 'predicted' ? 'no prediction' : 'untagged') : names[l];
    const extra = S.colorBy === 'predicted' && t?.genre ? ` · tag: ${t.genre}` : '';
    tip.querySelector('.gn').textContent = `${genre}${extra}`;
  };
  render(null);
  getTrack(id).then(render, () => {});
}
function hideTooltip() { $('tooltip').hidden = true; }

function updateMarkers() {
  // slot 0: the hovered point (white ring), slot 1: the one playing (accent ring)
  const a = markerGeo.attributes.position.array;
  const put = (i, slot) => { const v = pointPos(i); a[slot * 3] = v.x; a[slot * 3 + 1] = v.y; a[slot * 3 + 2] = v.z; };
  const cur = S.currentId != null && S.pts ? S.pts.index.get(S.currentId) : undefined;
  const hov = S.hover >= 0 && S.pts && S.hover < S.pts.n;
  if (hov) put(S.hover, 0);
  if (cur !== undefined) put(cur, 1);
  markerGeo.attributes.position.needsUpdate = true;
  if (!hov && cur === undefined) markerGeo.setDrawRange(0, 0);
  else if (hov && cur === undefined) markerGeo.setDrawRange(0, 1);
  else if (!hov) markerGeo.setDrawRange(1, 1);
  else markerGeo.setDrawRange(0, 2);
  S.dirty = true;
}

// ---------------------------------------------------------------------------------------------
// audio: two decks (an <audio> each, through Web Audio gains), crossfaded

const player = {
  ctx: null, master: null, decks: [], active: -1, volume: Number(localStorage.getItem('mm.volume') ?? 0.8),
  ensure() {
    if (!this.ctx) {
      const ctx = new (window.AudioContext || window.webkitAudioContext)();
      this.ctx = ctx;
      this.master = ctx.createGain();
      this.master.gain.value = this.volume;
      // a gentle limiter: loudness normalisation may raise quiet songs; peaks must not clip
      const limiter = ctx.createDynamicsCompressor();
      limiter.threshold.value = -2; limiter.knee.value = 0; limiter.ratio.value = 20;
      limiter.attack.value = 0.003; limiter.release.value = 0.25;
      this.master.connect(limiter).connect(ctx.destination);
      for (let d = 0; d < 2; d++) {
        const el = new Audio();
        el.preload = 'auto';
        const src = ctx.createMediaElementSource(el), gain = ctx.createGain();
        gain.gain.value = 0;
        src.connect(gain).connect(this.master);
        const deck = { el, gain, track: null, norm: 1 };
        el.addEventListener('ended', () => { if (this.decks[this.active] === deck) onEnded(); });
        el.addEventListener('timeupdate', () => { if (this.decks[this.active] === deck) onTime(); });
        this.decks.push(deck);
      }
    }
    if (this.ctx.state === 'suspended') {
      this.ctx.resume();
      // a context that never starts (no sound device, or sound blocked for the page) plays in silence
      clearTimeout(this.silenceTimer);
      this.silenceTimer = setTimeout(() => {
        if (this.ctx.state !== 'running') {
          showMessage('No sound: the browser has not started audio output (no sound device, or sound is blocked for this page)', 6000);
        }
      }, 2500);
    }
  },
  normGain(t) {
    if (!t || t.loudness == null || !Number.isFinite(t.loudness)) return 1;
    const db = Math.min(MAX_GAIN_DB, Math.max(MIN_GAIN_DB, TARGET_LUFS - t.loudness));
    return Math.pow(10, db / 20);
  },
  play(t) {
    this.ensure();
    const now = this.ctx.currentTime, prev = this.active >= 0 ? this.decks[this.active] : null;
    const nextIdx = this.active >= 0 ? 1 - this.active : 0, next = this.decks[nextIdx];
    next.track = t;
    next.norm = this.normGain(t);
    next.el.src = api.audioUrl(t);
    next.el.currentTime = 0;
    const fade = prev && !prev.el.paused ? FADE_S : 0.05;
    next.gain.gain.cancelScheduledValues(now);
    next.gain.gain.setValueAtTime(0.0001, now);
    next.gain.gain.linearRampToValueAtTime(next.norm, now + fade);
    next.el.play().catch((e) => showMessage(`can't play: ${e.message}`, 4000));
    if (prev) {
      prev.gain.gain.cancelScheduledValues(now);
      prev.gain.gain.setValueAtTime(prev.gain.gain.value, now);
      prev.gain.gain.linearRampToValueAtTime(0, now + fade);
      const el = prev.el;
      setTimeout(() => { if (this.decks[this.active] !== prev) el.pause(); }, fade * 1000 + 150);
    }
    this.active = nextIdx;
  },
  deck() { return this.active >= 0 ? this.decks[this.active] : null; },
  toggle() {
    const d = this.deck();
    if (!d) return;
    this.ensure();
    if (d.el.paused) d.el.play(); else d.el.pause();
  },
  setVolume(v) {
    this.volume = Math.min(1, Math.max(0, v));
    localStorage.setItem('mm.volume', String(this.volume));
    if (this.master) this.master.gain.setTargetAtTime(this.volume, this.ctx.currentTime, 0.02);
    $('volume').value = String(Math.round(this.volume * 100));
  },
};

const fmt = (s) => (Number.isFinite(s) ? `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, '0')}` : '0:00');
let seeking = false;
function onTime() {
  const d = player.deck();
  if (!d) return;
  const el = d.el;
  $('time').textContent = fmt(el.currentTime);
  $('duration').textContent = fmt(el.duration || d.track?.duration);
  if (!seeking && el.duration) $('seek').value = String(Math.round(el.currentTime / el.duration * 1000));
  // journeys crossfade into the next song before this one ends
  if (S.queue.length && el.duration && el.duration - el.currentTime < FADE_S && !d.advancing) {
    d.advancing = true;
    playNext();
  }
}
function onEnded() { if (S.queue.length) playNext(); else updatePlayButton(); }
function updatePlayButton() {
  const d = player.deck();
  $('play').innerHTML = d && !d.el.paused ? ICON_PAUSE : ICON_PLAY;
}

async function playId(id, { fly = false } = {}) {
  let t;
  try { t = await getTrack(id); } catch (e) { showMessage(`track ${id}: ${e.message}`, 3000); return; }
  S.currentId = id;
  S.current = t;
  player.play(t);
  const d = player.deck();
  d.advancing = false;
  d.el.onplay = d.el.onpause = updatePlayButton;
  $('now-title').textContent = t.title || t.file || `track ${id}`;
  $('now-artist').textContent = [t.artist, t.album].filter(Boolean).join(' — ');
  $('now-title').title = $('now-title').textContent;
  for (const b of ['play', 'seek', 'similar-button', 'journey-button']) $(b).disabled = false;
  $('next-button').disabled = !S.queue.length;
  document.title = `${t.title || 'musicmap'} — musicmap`;
  const i = S.pts?.index.get(id);
  if (fly && i !== undefined) flyTo(i);
  updateMarkers();
  markSideList();
}

// A click on the map: plays the song, or ends the journey there when picking a destination.
function choose(i) {
  const id = S.pts.ids[i];
  if (S.journeyPick) { startJourney(id); return; }
  S.queue = [];
  if (S.journey) clearJourney();
  playId(id);
}

function playNext() {
  if (!S.queue.length) return;
  const id = S.queue.shift();
  playId(id, { fly: true });
}

$('play').addEventListener('click', () => player.toggle());
$('seek').addEventListener('input', () => { seeking = true; });
$('seek').addEventListener('change', (e) => {
  seeking = false;
  const d = player.deck();
  if (d && d.el.duration) d.el.currentTime = Number(e.target.value) / 1000 * d.el.duration;
});
$('volume').value = String(Math.round(player.volume * 100));
$('volume').addEventListener('input', (e) => player.setVolume(Number(e.target.value) / 100));
$('next-button').addEventListener('click', playNext);

// ---------------------------------------------------------------------------------------------
// side panel: similar songs, journeys

function openSide(title, note, items, playlist = null) {
  $('side').hidden = false;
  S.sidePlaylist = playlist;
  $('side-save').hidden = !playlist;
  $('side-save').title = PAGE_ON_THIS_MACHINE ? 'Save as m3u: the songs\' files' : 'Save as m3u: links to this server\'s audio';
  $('side-title').textContent = title;
  $('side-note').textContent = note;
  const ol = $('side-list');
  ol.textContent = '';
  for (const t of items) {
    const li = document.createElement('li');
    li.dataset.id = t.id;
    li.innerHTML = '<div class="tt"></div><div class="sub"></div>';
    li.querySelector('.tt').textContent = t.title || t.file || `track ${t.id}`;
    li.querySelector('.sub').textContent = [t.artist, t.genre].filter(Boolean).join(' · ');
    li.addEventListener('click', () => {
      if (!S.journey) S.queue = [];
      else S.queue = S.journey.slice(S.journey.indexOf(t.id) + 1);
      playId(t.id, { fly: true });
    });
    li.addEventListener('mouseenter', () => { const i = S.pts?.index.get(t.id); if (i !== undefined) { S.hover = i; updateMarkers(); } });
    ol.appendChild(li);
  }
  markSideList();
}
function markSideList() {
  for (const li of $('side-list').children) li.classList.toggle('playing', Number(li.dataset.id) === S.currentId);
}
function closeSide() { $('side').hidden = true; }
// Save as m3u: the same playlist from the server as an extended M3U (UTF-8), downloaded. A page on this
// machine gets the songs' paths (a player opens the files); a page from another machine gets links to
// the server's audio (with the token the page holds), as the files' paths mean nothing there.
async function savePlaylist() {
  const p = S.sidePlaylist;
  if (!p) return;
  try {
    const r = await apiFetch(`api/playlist?${playlistQuery({ ...p, format: 'm3u8', ...(PAGE_ON_THIS_MACHINE ? {} : { links: '1' }) })}`);
    if (!r.ok) throw new Error(String(r.status));
    const url = URL.createObjectURL(new Blob([await r.text()], { type: 'audio/x-mpegurl' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = `musicmap-${p.kind}-${p.seed.replace(/,/g, '-')}${p.to ? `-${p.to}` : ''}.m3u8`;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  } catch (e) {
    showMessage(`Could not save the playlist: ${e.message}`, 3000);
  }
}
$('side-save').addEventListener('click', savePlaylist);
$('side-close').addEventListener('click', () => { closeSide(); if (S.journey) clearJourney(); });

async function showSimilar() {
  if (S.currentId == null) return;
  if (!STATIC) {
    // a playlist: the nearest songs, no artist or album twice in a row of three
    const params = { kind: 'similar', seed: String(S.currentId), n: '12' };
    try {
      const r = await api.playlist(params);
      const by = r.space === 'descriptors' ? 'by their audio descriptors' : `by the map's ${r.space || 'vectors'}`;
      openSide('Similar songs', `to ${S.current?.title || 'this song'}, ${by}`, r.songs, params);
    } catch (e) {
      showMessage('No similar songs: this song has no vectors yet', 3000);
    }
    return;
  }
  try {
    const r = await api.similar(S.currentId);
    const by = r.space === 'descriptors' ? 'by their audio descriptors' : `by the ${r.model || ''} model's ${r.space || 'vectors'}`;
    openSide('Similar songs', `to ${S.current?.title || 'this song'}, ${by}`, r.similar);
  } catch (e) {
    showMessage('No similar songs: this song has no vectors yet', 3000);
  }
}
$('similar-button').addEventListener('click', showSimilar);

// A journey: songs that lie along the straight way from one song to another on the map, each the
// nearest unused song to the next step, so neighbours follow neighbours.
function journeyPath(fromId, toId, steps = 10) {
  const pts = S.pts, a = pts.index.get(fromId), b = pts.index.get(toId);
  if (a === undefined || b === undefined) return null;
  const pa = pointPos(a), pb = pointPos(b), used = new Set([a, b]), path = [];
  const p = pts.pos, v = new THREE.Vector3();
  for (let s = 1; s < steps; s++) {
    v.lerpVectors(pa, pb, s / steps);
    let best = -1, bestD = Infinity;
    if (grid && pts.dims === 2) {
      // widen the search ring until something is found
      for (let r = 1; best < 0 && r <= grid.G; r *= 2) {
        const { G, start, items, cellOf } = grid, w = 2 * r / G;
        for (let gy = cellOf(v.y - w); gy <= cellOf(v.y + w); gy++) for (let gx = cellOf(v.x - w); gx <= cellOf(v.x + w); gx++) {
          const c = gy * G + gx;
          for (let k = start[c]; k < start[c + 1]; k++) {
            const i = items[k];
            if (used.has(i) || !visible(i)) continue;
            const d = (p[i * 3] - v.x) ** 2 + (p[i * 3 + 1] - v.y) ** 2;
            if (d < bestD) { bestD = d; best = i; }
          }
        }
      }
    } else {
      for (let i = 0; i < pts.n; i++) {
        if (used.has(i) || !visible(i)) continue;
        const d = (p[i * 3] - v.x) ** 2 + (p[i * 3 + 1] - v.y) ** 2 + (p[i * 3 + 2] - v.z) ** 2;
        if (d < bestD) { bestD = d; best = i; }
      }
    }
    if (best >= 0) { used.add(best); path.push(best); }
  }
  return [a, ...path, b].map((i) => pts.ids[i]);
}

function beginJourneyPick() {
  if (S.currentId == null) { showMessage('Play a song first: the journey starts there', 2500); return; }
  S.journeyPick = true;
  showMessage('Journey: click the song to travel to (or search for it) · esc cancels');
}

async function startJourney(toId) {
  S.journeyPick = false;
  hideMessage();
  if (toId === S.currentId) return;
  const steps = S.pts.n > 2000 ? 12 : Math.min(10, S.pts.n - 1);
  let ids = null, params = null;
  if (!STATIC) {
    // the server's journey: small steps in the map's own space (not across the 2-D picture)
    params = { kind: 'journey', seed: String(S.currentId), to: String(toId), n: String(steps + 1) };
    try {
      ids = (await api.playlist(params)).songs.map((t) => t.id).filter((id) => S.pts.index.has(id));
    } catch (e) {
      ids = null;
      params = null;
    }
  }
  if (!ids || ids.length < 2) ids = journeyPath(S.currentId, toId, steps);
  if (!ids) { showMessage('Both songs must be on this map', 2500); return; }
  S.journey = ids;
  S.queue = ids.slice(1);
  $('next-button').disabled = false;
  const pos = new Float32Array(ids.length * 3);
  ids.forEach((id, k) => { const v = pointPos(S.pts.index.get(id)); pos.set([v.x, v.y, v.z], k * 3); });
  pathGeo.setAttribute('position', new THREE.BufferAttribute(pos, 3));
  pathGeo.setDrawRange(0, ids.length);
  pathLine.visible = true;
  S.dirty = true;
  const tracks = await Promise.all(ids.map((id) => getTrack(id).catch(() => ({ id, title: `track ${id}` }))));
  openSide('Journey', `${ids.length} songs from ${tracks[0].title} to ${tracks[tracks.length - 1].title}; n skips ahead`, tracks, params);
}

function clearJourney() { S.journey = null; S.queue = []; pathLine.visible = false; $('next-button').disabled = true; S.dirty = true; }
$('journey-button').addEventListener('click', beginJourneyPick);

// ---------------------------------------------------------------------------------------------
// search

let searchSeq = 0, results = [], active = -1;
async function runSearch(q) {
  const seq = ++searchSeq;
  if (!q.trim()) { renderResults([]); return; }
  try {
    const r = await api.search(q);
    if (seq === searchSeq) renderResults(r);
  } catch (e) { if (seq === searchSeq) renderResults([]); }
}
function renderResults(list) {
  results = list;
  active = list.length ? 0 : -1;
  const ul = $('search-results');
  ul.textContent = '';
  ul.hidden = !list.length;
  list.forEach((t, k) => {
    const li = document.createElement('li');
    li.dataset.id = t.id;
    li.innerHTML = '<div class="tt"></div><div class="sub"></div>';
    li.querySelector('.tt').textContent = t.title || t.file;
    li.querySelector('.sub').textContent = [t.artist, t.album, t.genre].filter(Boolean).join(' · ');
    li.addEventListener('mousedown', (e) => { e.preventDefault(); pickResult(k); });
    ul.appendChild(li);
  });
  markActive();
}
function markActive() { [...$('search-results').children].forEach((li, k) => li.classList.toggle('active', k === active)); }
function pickResult(k) {
  const t = results[k];
  if (!t) return;
  $('search-results').hidden = true;
  $('search').blur();
  const i = S.pts?.index.get(t.id);
  if (i === undefined) { showMessage(`“${t.title}” is not on this map`, 2500); return; }
  if (S.journeyPick) { startJourney(t.id); return; }
  flyTo(i);
  S.queue = [];
  if (S.journey) clearJourney();
  playId(t.id);
}
let searchTimer = 0;
$('search').addEventListener('input', (e) => { clearTimeout(searchTimer); searchTimer = setTimeout(() => runSearch(e.target.value), 120); });
$('search').addEventListener('keydown', (e) => {
  if (e.key === 'ArrowDown') { active = Math.min(results.length - 1, active + 1); markActive(); e.preventDefault(); }
  else if (e.key === 'ArrowUp') { active = Math.max(0, active - 1); markActive(); e.preventDefault(); }
  else if (e.key === 'Enter') { pickResult(active); e.preventDefault(); }
  else if (e.key === 'Escape') { $('search-results').hidden = true; e.target.blur(); }
});
$('search').addEventListener('blur', () => setTimeout(() => { $('search-results').hidden = true; }, 150));
$('search').addEventListener('focus', () => { if (results.length) $('search-results').hidden = false; });

// ---------------------------------------------------------------------------------------------
// messages, help, keyboard

let messageTimer = 0;
function showMessage(text, ms) {
  const m = $('message');
  m.textContent = text;
  m.hidden = false;
  clearTimeout(messageTimer);
  if (ms) messageTimer = setTimeout(hideMessage, ms);
}
function hideMessage() { $('message').hidden = true; }
$('help-button').addEventListener('click', () => { $('help').hidden = !$('help').hidden; });

window.addEventListener('keydown', (e) => {
  const typing = e.target instanceof HTMLInputElement && e.target.type !== 'range';
  if (typing || e.ctrlKey || e.metaKey || e.altKey) {
    if ((e.ctrlKey || e.metaKey) && e.key === 'k') { e.preventDefault(); $('search').focus(); }
    return;
  }
  const pan = 0.15 * S.view.zoom;
  switch (e.key) {
    case ' ': player.toggle(); break;
    case '/': $('search').focus(); break;
    case 'm': cycleMap(1); break;
    case 'M': cycleMap(-1); break;
    case 'c': {
      const sel = $('color-by');
      const next = S.colorBy === 'predicted' ? 'tagged' : 'predicted';
      if (![...sel.options].find((o) => o.value === next && !o.disabled)) return;
      S.colorBy = S.colorChoice = next; sel.value = next; S.hidden.clear(); applyColors();
      break;
    }
    case 's': showSimilar(); break;
    case 'j': beginJourneyPick(); break;
    case 'n': playNext(); break;
    case 'f': { const i = S.pts?.index.get(S.currentId); if (i !== undefined) flyTo(i); break; }
    case '+': case '=': zoomAt(window.innerWidth / 2, window.innerHeight / 2, 0.7); break;
    case '-': case '_': zoomAt(window.innerWidth / 2, window.innerHeight / 2, 1 / 0.7); break;
    case '0': fitView(); break;
    case 'ArrowLeft': S.view.cx -= pan; S.fitted = false; updateCam2(); break;
    case 'ArrowRight': S.view.cx += pan; S.fitted = false; updateCam2(); break;
    case 'ArrowUp': S.view.cy += pan; S.fitted = false; updateCam2(); break;
    case 'ArrowDown': S.view.cy -= pan; S.fitted = false; updateCam2(); break;
    case '[': player.setVolume(player.volume - 0.05); break;
    case ']': player.setVolume(player.volume + 0.05); break;
    case '?': $('help').hidden = !$('help').hidden; break;
    case 'Escape':
      $('help').hidden = true;
      $('model-panel').hidden = true;
      if (S.journeyPick) { S.journeyPick = false; hideMessage(); } else { closeSide(); if (S.journey) clearJourney(); }
      break;
    default: return;
  }
  e.preventDefault();
});

// ---------------------------------------------------------------------------------------------
// the Model panel (the figures `musicmap plot training` and `plot confusion` draw, from the same data)
// and saving the view as an image

const CURVE = { train: '#4e9cff', val: '#ff6b6b', best: '#06d6a0', lr: '#8a93a6', grid: 'rgba(255,255,255,0.08)', text: '#e6e9ef', dim: '#8a93a6' };
let modelData = null;

// A canvas sized to its CSS width at the screen's resolution; returns its 2-D context in CSS pixels.
function sizedContext(cv, h) {
  const r = window.devicePixelRatio || 1, w = cv.clientWidth || 680;
  cv.width = Math.round(w * r); cv.height = Math.round(h * r); cv.style.height = `${h}px`;
  const g = cv.getContext('2d');
  g.setTransform(r, 0, 0, r, 0, 0);
  g.font = '11px system-ui, sans-serif';
  return { g, w, h };
}

function niceTicks(lo, hi, want) {
  const raw = (hi - lo) / Math.max(1, want - 1), mag = 10 ** Math.floor(Math.log10(raw)), f = raw / mag;
  const step = (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag, out = [];
  for (let t = Math.ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) out.push(+t.toFixed(10));
  return { ticks: out, step };
}

function drawCurves(cv, m) {
  const h = m.history, n = h.train_loss.length, { g, w } = sizedContext(cv, 260);
  const panels = [['Loss', h.train_loss, h.val_loss], [m.self_supervised ? 'Pair accuracy' : 'Accuracy', h.train_acc, h.val_acc]];
  const pw = (w - 110) / 2, top = 28, ph = 190;
  panels.forEach(([title, tr, va], k) => {
    const x0 = 44 + k * (pw + 60), vals = [...tr, ...va].filter((v) => v != null && isFinite(v));
    let lo = Math.min(...vals), hi = Math.max(...vals);
    if (!(hi > lo)) { lo -= 0.5; hi += 0.5; }
    const pad = (hi - lo) * 0.06; lo -= pad; hi += pad;
    const X = (e) => x0 + (n > 1 ? (e - 1) / (n - 1) : 0.5) * pw, Y = (v) => top + ph - (v - lo) / (hi - lo) * ph;
    g.fillStyle = CURVE.text; g.font = 'bold 12px system-ui, sans-serif'; g.fillText(title, x0, top - 10);
    g.font = '10px system-ui, sans-serif';
    const { ticks, step } = niceTicks(lo, hi, 5);
    g.textAlign = 'right';
    for (const t of ticks) {
      g.strokeStyle = CURVE.grid; g.beginPath(); g.moveTo(x0, Y(t)); g.lineTo(x0 + pw, Y(t)); g.stroke();
      g.fillStyle = CURVE.dim; g.fillText(t.toFixed(Math.max(0, -Math.floor(Math.log10(step)))), x0 - 5, Y(t) + 3);
    }
    g.textAlign = 'center';
    const xs = niceTicks(1, Math.max(2, n), 8);
    for (const e of xs.ticks) if (Number.isInteger(e) && e <= n) g.fillText(String(e), X(e), top + ph + 14);
    g.fillText('epoch', x0 + pw / 2, top + ph + 28);
    g.textAlign = 'left';
    // learning-rate changes (dotted) and the best epoch (green)
    g.setLineDash([2, 3]); g.strokeStyle = CURVE.lr;
    for (let e = 1; e < n; e++) {
      if (h.learning_rate[e] == null || h.learning_rate[e] === h.learning_rate[e - 1]) continue;
      const x = X(e + 0.5);
      g.beginPath(); g.moveTo(x, top); g.lineTo(x, top + ph); g.stroke();
      if (k === 0) { g.fillStyle = CURVE.lr; g.fillText(`lr ${h.learning_rate[e].toPrecision(2)}`, x + 3, top + 10); }
    }
    g.setLineDash([]);
    if (m.best_epoch >= 1 && m.best_epoch <= n) {
      const x = X(m.best_epoch);
      g.strokeStyle = CURVE.best; g.lineWidth = 1.5; g.beginPath(); g.moveTo(x, top); g.lineTo(x, top + ph); g.stroke();
      if (k === 0) { g.fillStyle = CURVE.best; g.fillText(`best: epoch ${m.best_epoch}`, x + 4, top + ph - 6); }
    }
    [[tr, CURVE.train, []], [va, CURVE.val, [5, 3]]].forEach(([v, colour, dash]) => {
      g.strokeStyle = colour; g.lineWidth = 1.8; g.setLineDash(dash); g.beginPath();
      let open = false;
      v.forEach((y, e) => {
        if (y == null || !isFinite(y)) { open = false; return; }
        if (open) g.lineTo(X(e + 1), Y(y)); else g.moveTo(X(e + 1), Y(y));
        open = true;
      });
      g.stroke(); g.setLineDash([]); g.lineWidth = 1;
    });
    g.strokeStyle = 'rgba(255,255,255,0.25)'; g.strokeRect(x0, top, pw, ph);
  });
  // the key
  g.font = '11px system-ui, sans-serif';
  [['training', CURVE.train, []], ['validation', CURVE.val, [5, 3]]].forEach(([label, colour, dash], i) => {
    const x = w - 190 + i * 95;
    g.strokeStyle = colour; g.lineWidth = 1.8; g.setLineDash(dash);
    g.beginPath(); g.moveTo(x, 14); g.lineTo(x + 20, 14); g.stroke(); g.setLineDash([]); g.lineWidth = 1;
    g.fillStyle = CURVE.text; g.fillText(label, x + 25, 18);
  });
}

function drawConfusion(cv, m) {
  const c = m.confusion, k = m.classes.length, cell = Math.max(18, Math.min(44, 420 / k));
  const label = 90, top = 80, h = top + k * cell + 30, { g } = sizedContext(cv, h), x0 = label + 10;
  g.font = '11px system-ui, sans-serif';
  let total = 0, right = 0;
  c.forEach((row, r) => row.forEach((v, j) => { total += v; if (r === j) right += v; }));
  g.fillStyle = CURVE.text; g.font = 'bold 12px system-ui, sans-serif';
  g.fillText(`Test songs: ${total}, accuracy ${total ? (right / total).toFixed(3) : '–'} (rows: true genre, columns: predicted)`, 0, 14);
  g.font = `${Math.min(12, cell * 0.32)}px system-ui, sans-serif`;
  c.forEach((row, r) => {
    const sum = row.reduce((a, b) => a + b, 0);
    row.forEach((v, j) => {
      const share = sum ? v / sum : 0;
      g.fillStyle = `rgba(78,156,255,${0.08 + 0.85 * share})`;
      g.fillRect(x0 + j * cell, top + r * cell, cell - 1, cell - 1);
      g.fillStyle = v ? CURVE.text : CURVE.dim; g.textAlign = 'center';
      g.fillText(String(v), x0 + (j + 0.5) * cell, top + (r + 0.5) * cell + 4);
    });
    g.textAlign = 'right'; g.fillStyle = CURVE.text;
    g.fillText(m.classes[r].slice(0, 14), x0 - 6, top + (r + 0.5) * cell + 4);
    g.textAlign = 'left';
    g.fillText(sum ? (row[r] / sum).toFixed(2) : '–', x0 + k * cell + 8, top + (r + 0.5) * cell + 4);
    g.save(); g.translate(x0 + (r + 0.5) * cell, top - 6); g.rotate(-Math.PI / 4);
    g.fillText(m.classes[r].slice(0, 14), 0, 0); g.restore();
  });
  g.fillStyle = CURVE.dim; g.fillText('recall', x0 + k * cell + 8, top - 6);
}

function showModel() {
  const m = modelData;
  if (!m) return;
  $('model-panel').hidden = false;
  $('model-title').textContent = `Model: ${m.model}`;
  const acc = m.test_accuracy == null ? '' : ` · test accuracy ${m.test_accuracy.toFixed(3)}`;
  $('model-note').textContent = m.history ? `${m.history.train_loss.length} epochs · best epoch ${m.best_epoch}${acc}`
    : `No training history stored with this model (trained by an older musicmap)${acc}`;
  $('model-curves').hidden = !m.history;
  $('model-confusion').hidden = !m.confusion;
  if (m.history) drawCurves($('model-curves'), m);
  if (m.confusion) drawConfusion($('model-confusion'), m);
}

async function loadModel() {
  try { modelData = await getJSON(STATIC ? 'data/model.json' : 'api/model'); } catch (e) { modelData = null; }
  $('model-button').hidden = !modelData;
}

$('model-button').addEventListener('click', () => { if ($('model-panel').hidden) showModel(); else $('model-panel').hidden = true; });
$('model-close').addEventListener('click', () => { $('model-panel').hidden = true; });

// The view as drawn, at twice the screen's resolution: the map is drawn once more into a bigger buffer
// (points scaled with it), saved, and the canvas goes back to its own size.
function saveImage() {
  const base = renderer.getPixelRatio(), ratio = 2 * (window.devicePixelRatio || 1);
  const mats = [material, markerMat, newMat];
  const set = (r) => {
    renderer.setPixelRatio(r);
    renderer.setSize(window.innerWidth, window.innerHeight, false);
    for (const mat of mats) mat.uniforms.uPixelRatio.value = r;
  };
  set(ratio);
  renderer.render(scene, camera);
  canvas.toBlob((blob) => {
    if (!blob) return;
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `musicmap-${(S.map?.name || 'map').replace(/[^\w.-]+/g, '_')}.png`;
    document.body.appendChild(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  }, 'image/png');
  set(base);
  S.dirty = true;
}
$('save-image').addEventListener('click', saveImage);

// ---------------------------------------------------------------------------------------------
// the frame loop: draws only when something changed

function frame(now) {
  requestAnimationFrame(frame);
  if (S.anim) {
    const t = Math.min(1, (now - S.anim.start) / S.anim.ms);
    material.uniforms.uT.value = t;
    if (t >= 1) {
      S.anim = null;
      // settle: the new layout becomes the start of the next switch
      geometry.attributes.position0.array.set(geometry.attributes.position.array);
      geometry.attributes.position0.needsUpdate = true;
    }
    updateMarkers();
    updateNewMarks();
    S.dirty = true;
  }
  if (S.flight) {
    const f = S.flight, t = Math.min(1, (now - f.start) / f.ms), e = t < 0.5 ? 4 * t * t * t : 1 - (-2 * t + 2) ** 3 / 2;
    if (f.to) {
      S.view.cx = f.from.cx + (f.to.cx - f.from.cx) * e;
      S.view.cy = f.from.cy + (f.to.cy - f.from.cy) * e;
      S.view.zoom = Math.exp(Math.log(f.from.zoom) + (Math.log(f.to.zoom) - Math.log(f.from.zoom)) * e);
      updateCam2();
    } else {
      cam3.position.lerpVectors(f.from3.p, f.to3.p, e);
      controls.target.lerpVectors(f.from3.t, f.to3.t, e);
    }
    if (t >= 1) S.flight = null;
    S.dirty = true;
  }
  if (controls.enabled) controls.update();
  if (S.dirty) {
    S.dirty = false;
    renderer.render(scene, camera);
    S.frames++;
    if (S.pts && S.firstPaint == null) S.firstPaint = performance.now();
  }
}

// ---------------------------------------------------------------------------------------------
// start

// For tests and benchmarks: what is drawn, where a track is on screen, the audio graph's state.
window.__musicmap = {
  get ready() { return !!S.pts && S.firstPaint != null; },
  get animating() { return !!S.anim || !!S.flight; },
  get firstPaint() { return S.firstPaint; },
  get frames() { return S.frames; },
  get mapId() { return S.map?.id; },
  get dims() { return S.pts?.dims ?? 0; },
  get newSongs() { return newMarks.visible && newRows ? newRows.length : 0; },
  get currentId() { return S.currentId; },
  get view() { return { ...S.view }; },
  get colorBy() { return S.colorBy; },
  drawn() { return S.pts ? Math.min(geometry.drawRange.count, geometry.attributes.position.count) : 0; },
  project(id) {
    const i = S.pts?.index.get(id);
    if (i === undefined) return null;
    const s = toScreen(pointPos(i));
    return { x: s.x, y: s.y };
  },
  ids() { return S.pts ? Array.from(S.pts.ids) : []; },
  showMap,
  audio() {
    return {
      context: player.ctx ? player.ctx.state : null,
      active: player.active,
      decks: player.decks.map((d) => ({ src: d.el.currentSrc || d.el.src, paused: d.el.paused, trackId: d.track?.id ?? null,
        gain: d.gain.gain.value, norm: d.norm, time: d.el.currentTime })),
    };
  },
  markDirty() { S.dirty = true; },
};

async function start() {
  resize();
  requestAnimationFrame(frame);
  loadModel();
  try {
    const r = await api.maps();
    S.maps = r.maps || [];
  } catch (e) {
    showMessage(`Can't reach the musicmap server: ${e.message}`);
    return;
  }
  const sel = $('map-select');
  for (const m of S.maps) {
    const o = document.createElement('option');
    o.value = String(m.id);
    o.textContent = describeMap(m);
    sel.appendChild(o);
  }
  if (!S.maps.length) {
    showMessage('No maps yet: run `musicmap run DIR` (or train, embed and map) first');
    return;
  }
  const want = Number((location.hash.match(/map=(\d+)/) || [])[1]);
  // a 2-D map first: it reads best at a glance
  const first = S.maps.find((m) => m.id === want) || S.maps.find((m) => m.dims === 2) || S.maps[0];
  await showMap(first.id);
}

start();
