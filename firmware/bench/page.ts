/**
 * The bench's live page: one self-contained HTML document, no build step, no external assets (the gate
 * has no Internet). It follows /api/stream (server-sent events) and drives the simulator through the API.
 */
export const BENCH_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Postern bench</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; background: #f4f4f2; color: #222; }
  header { background: #243b53; color: #fff; padding: 10px 16px; display: flex; gap: 16px; align-items: baseline; }
  header h1 { font-size: 18px; margin: 0; }
  main { display: grid; grid-template-columns: minmax(280px, 1fr) minmax(320px, 2fr); gap: 16px; padding: 16px; }
  section { background: #fff; border-radius: 8px; padding: 12px 16px; box-shadow: 0 1px 2px #0002; }
  h2 { font-size: 15px; margin: 0 0 8px; }
  .big { font-size: 28px; font-weight: 600; }
  .locked { color: #1b7d3a; } .unlocked { color: #c05600; }
  .pill { display: inline-block; padding: 2px 8px; border-radius: 10px; margin: 2px; background: #e4e7eb; }
  .alarm { background: #d64545; color: #fff; }
  .ok { background: #c6f7e2; } .degraded { background: #fce588; } .disabled { background: #e4e7eb; color: #777; }
  .led { display: inline-block; width: 14px; height: 14px; border-radius: 50%; background: #ccc; vertical-align: middle; margin-right: 4px; }
  .led.on.green { background: #2fb24c; } .led.on.red { background: #e12d39; } .led.on.buzzer { background: #f0b429; }
  table { border-collapse: collapse; width: 100%; font-size: 13px; }
  td, th { text-align: left; padding: 3px 6px; border-bottom: 1px solid #eee; }
  button { margin: 2px; padding: 4px 10px; }
  input { padding: 3px 6px; }
  #events { max-height: 60vh; overflow-y: auto; }
  #camera img { max-width: 100%; max-height: 180px; }
</style>
</head>
<body>
<header><h1>Postern bench</h1><span id="gate"></span><span id="link">connecting…</span></header>
<main>
  <div>
    <section>
      <h2>Door</h2>
      <div class="big" id="relay">?</div>
      <div>contact: <b id="contact">?</b> · mode: <b id="mode">?</b></div>
      <div id="alarms"></div>
      <div style="margin-top:6px">
        <span><span class="led green" id="led-ledGreen"></span>green</span>
        <span><span class="led red" id="led-ledRed"></span>red</span>
        <span><span class="led buzzer" id="led-buzzer"></span>buzzer</span>
      </div>
    </section>
    <section>
      <h2>Ways in</h2>
      <div id="methods"></div>
    </section>
    <section>
      <h2>Simulated inputs</h2>
      <button data-input="exit">Press exit button</button>
      <button data-toggle="contact">Open / close door</button>
      <button data-toggle="tamper">Open / close case</button>
      <h2 style="margin-top:12px">Card</h2>
      <input id="uid" value="04A1B2C3D4E5F6" size="22" aria-label="card UID (hex)"> <button id="tap">Tap card</button>
      <h2 style="margin-top:12px">Camera</h2>
      <input type="file" id="frame" accept="image/jpeg,image/png" aria-label="camera frame">
      <div id="camera"></div>
      <div id="result"></div>
    </section>
  </div>
  <section>
    <h2>Events</h2>
    <div id="events"><table><thead><tr><th>seq</th><th>time</th><th>type</th><th>reason</th></tr></thead><tbody id="ev"></tbody></table></div>
  </section>
</main>
<script>
const $ = (id) => document.getElementById(id);
let last = {};
function render(s) {
  last = s;
  const door = s.door || {};
  $('gate').textContent = s.gate ? s.gate.site + ' / ' + s.gate.id + ' (' + s.gate.hardware + ')' : '';
  $('relay').textContent = door.relay || '?';
  $('relay').className = 'big ' + (door.relay || '');
  $('contact').textContent = door.contact || '?';
  $('mode').textContent = door.mode || '?';
  $('alarms').innerHTML = (s.alarms || []).map((a) => '<span class="pill alarm">' + a + '</span>').join('') || '<span class="pill">no alarms</span>';
  $('methods').innerHTML = Object.entries(s.methods || {}).map(([k, v]) => '<span class="pill ' + v + '">' + k + ': ' + v + '</span>').join('');
  for (const [name, on] of Object.entries(s.leds || {})) { const el = $('led-' + name); if (el) el.classList.toggle('on', !!on); }
}
function addEvent(e) {
  const tr = document.createElement('tr');
  for (const v of [e.seq, e.ts.slice(11, 23), e.type, e.reason]) { const td = document.createElement('td'); td.textContent = v; tr.appendChild(td); }
  $('ev').prepend(tr);
  while ($('ev').children.length > 200) $('ev').lastChild.remove();
}
// The bench takes only JSON bodies (and images on the camera): a type a cross-site form could send is refused.
async function send(path, body, type) {
  const res = await fetch(path, { method: 'POST', headers: { 'content-type': type }, body });
  const text = await res.text();
  $('result').textContent = res.ok ? '' : text;
  return res;
}
const post = (path, value) => send(path, JSON.stringify(value), 'application/json');
document.querySelectorAll('[data-input]').forEach((b) => b.onclick = () => post('/api/sim/input', { name: b.dataset.input, pulse: true }));
const toggles = {};
document.querySelectorAll('[data-toggle]').forEach((b) => b.onclick = () => {
  const n = b.dataset.toggle; toggles[n] = !toggles[n];
  post('/api/sim/input', { name: n, value: toggles[n] });
});
$('tap').onclick = () => post('/api/sim/nfc', { uid: $('uid').value });
$('frame').onchange = async () => {
  const f = $('frame').files[0]; if (!f) return;
  if (f.type !== 'image/jpeg' && f.type !== 'image/png') { $('result').textContent = f.name + ' is not a JPEG or PNG'; return; }
  $('camera').innerHTML = ''; const img = document.createElement('img'); img.src = URL.createObjectURL(f); $('camera').appendChild(img);
  await send('/api/sim/camera', await f.arrayBuffer(), f.type);
};
function connect() {
  const es = new EventSource('/api/stream');
  es.addEventListener('open', () => { $('link').textContent = 'live'; });
  es.addEventListener('error', () => { $('link').textContent = 'reconnecting…'; });
  es.addEventListener('state', (m) => render(JSON.parse(m.data)));
  es.addEventListener('gate-event', (m) => addEvent(JSON.parse(m.data)));
}
connect();
</script>
</body>
</html>
`;
