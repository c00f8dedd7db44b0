// The live storm page: asks the server (POST /v1/demo/storms) to run one storm with the
// project's load harness, reads the Server-Sent Events from the response body with fetch
// (EventSource cannot send the x-api-key header), and draws every answer as it arrives.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const COLORS = ['#1565c0', '#ef6c00', '#6a1b9a', '#00838f', '#ad1457', '#558b2f'];
  const HOLDER_ROWS = 8;
  const SVG_NS = 'http://www.w3.org/2000/svg';

  let scenarios = [];
  let run = null; // state of the storm on screen
  let frame = 0;

  $('key').value = sessionStorage.getItem('couponlock-demo-key') || '';
  $('key').addEventListener('change', () => void loadScenarios());
  $('scenario').addEventListener('change', fillStrategies);
  $('controls').addEventListener('submit', (event) => {
    event.preventDefault();
    void startStorm();
  });
  if ($('key').value) void loadScenarios();

  function headers() {
    return { 'x-api-key': $('key').value.trim(), 'content-type': 'application/json' };
  }

  async function problemText(response) {
    try {
      const body = await response.json();
      return `${response.status} ${body.code || ''}: ${body.detail || body.title || ''}`;
    } catch {
      return `HTTP ${response.status}`;
    }
  }

  async function loadScenarios() {
    sessionStorage.setItem('couponlock-demo-key', $('key').value.trim());
    setStatus('Loading scenarios…');
    const response = await fetch('/v1/demo/scenarios', { headers: headers() });
    if (!response.ok) {
      setStatus(`Cannot load the scenarios: ${await problemText(response)}`);
      return;
    }
    const body = await response.json();
    scenarios = body.scenarios;
    $('scenario').replaceChildren(...scenarios.map((s) => new Option(s.title, s.name)));
    fillStrategies();
    setStatus(`Ready. The storm targets ${body.instances.join(', ')}.`);
  }

  function fillStrategies() {
    const scenario = scenarios.find((s) => s.name === $('scenario').value);
    const labels = {
      naive: 'naive (unsafe: read, check, write)',
      atomic: 'atomic (one conditional statement)',
      locked: 'locked (lease + fencing token)',
      pessimistic: 'pessimistic (SELECT … FOR UPDATE)',
      optimistic: 'optimistic (version check + retries)',
    };
    $('strategy').replaceChildren(
      ...(scenario ? scenario.strategies : []).map((s) => new Option(labels[s] || s, s)),
    );
  }

  function setStatus(text) {
    $('status').textContent = text;
  }

  async function startStorm() {
    if (scenarios.length === 0) await loadScenarios();
    if (scenarios.length === 0) return;
    const request = {
      scenario: $('scenario').value,
      strategy: $('strategy').value,
      concurrency: Number($('concurrency').value),
    };
    reset();
    $('run').disabled = true;
    setStatus(`Setting up ${request.scenario} with ${request.strategy}…`);
    try {
      const response = await fetch('/v1/demo/storms', {
        method: 'POST',
        headers: headers(),
        body: JSON.stringify(request),
      });
      if (!response.ok) {
        showError(await problemText(response));
        return;
      }
      await readEvents(response.body, onEvent);
      if (run && !run.finished) showError('the stream ended without a verdict');
    } catch (error) {
      showError(String(error));
    } finally {
      $('run').disabled = false;
    }
  }

  /** Parses text/event-stream: blocks separated by a blank line, `event:` and `data:` lines. */
  async function readEvents(body, handle) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let type = 'message';
        const data = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) type = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
        }
        if (data.length > 0) handle(type, JSON.parse(data.join('\n')));
      }
    }
  }

  function reset() {
    run = {
      start: null,
      answers: 0,
      successes: 0,
      granted: 0,
      refusals: {},
      latencies: [],
      points: [],
      lastAt: 1,
      finished: false,
    };
    $('verdict').dataset.outcome = '';
    $('verdict').textContent = 'Running…';
    $('detail').textContent = '';
    $('duration').textContent = '';
    draw();
  }

  function onEvent(type, event) {
    if (type === 'start') {
      run.start = event;
      setStatus(
        `Storm on ${event.resource}: ${event.attempts} requests, ${event.concurrency} in flight, ` +
          `over ${event.instances.length} instance(s).`,
      );
    } else if (type === 'answer') {
      run.answers += 1;
      run.latencies.push(event.latencyMs);
      run.lastAt = Math.max(run.lastAt, event.atMs);
      if (event.kind === 'success') {
        run.successes += 1;
        run.granted += event.granted;
        run.points.push(event);
      } else {
        run.refusals[event.answer] = (run.refusals[event.answer] || 0) + 1;
      }
    } else if (type === 'done') {
      run.finished = true;
      run.done = event;
      setStatus('Storm finished.');
    } else if (type === 'error') {
      run.finished = true;
      showError(event.message);
    }
    if (!frame) frame = requestAnimationFrame(draw);
  }

  function showError(message) {
    setStatus(`Storm failed: ${message}`);
    $('verdict').dataset.outcome = 'error';
    $('verdict').textContent = `No verdict: ${message}`;
  }

  function percentile(samples, p) {
    if (samples.length === 0) return 0;
    const sorted = [...samples].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1];
  }

  function draw() {
    frame = 0;
    if (!run) return;
    const start = run.start;
    const limit = start ? start.limit : null;
    // Redemptions count answers; a hot SKU counts units granted.
    const taken = run.granted;
    $('successes').textContent = String(taken);
    $('limit').textContent = limit === null ? '–' : String(limit);
    $('unit').textContent = start ? start.unit : '';
    $('answered').textContent = String(run.answers);
    $('attempts').textContent = start ? String(start.attempts) : '–';
    $('instances').textContent = start ? `${start.instances.length} instance(s)` : '';
    $('resource').textContent = start ? start.resource : '';
    const over = limit !== null && taken > limit;
    $('successes').classList.toggle('over', over);
    $('bar-fill').classList.toggle('over', over);
    // The bar's full width is the larger of the limit and what was taken.
    const scale = Math.max(limit || 1, taken);
    $('bar-fill').style.width = `${(100 * taken) / scale}%`;
    $('bar-limit').style.left = `calc(${(100 * (limit || 0)) / scale}% - 2px)`;

    drawTimeline();
    drawHolders();

    const rows = Object.entries(run.done ? run.done.refusals : run.refusals).sort(
      (a, b) => b[1] - a[1],
    );
    $('refusals')
      .querySelector('tbody')
      .replaceChildren(
        ...(rows.length ? rows : [['none', 0]]).map(([code, count]) => row([code, String(count)])),
      );

    const done = run.done;
    $('p50').textContent = (done ? done.p50Ms : percentile(run.latencies, 50)).toFixed(1);
    $('p99').textContent = (done ? done.p99Ms : percentile(run.latencies, 99)).toFixed(1);
    if (done) {
      $('duration').textContent = `${done.durationMs} ms for the whole storm`;
      $('verdict').dataset.outcome = done.verdict.outcome;
      $('verdict').textContent = done.verdict.text;
      $('detail').textContent =
        `${done.successes} successful answers; ${done.detail}; ` +
        `${done.unexpected} unexpected answers.`;
    }
  }

  function row(cells) {
    const tr = document.createElement('tr');
    for (const cell of cells) {
      const td = document.createElement('td');
      td.textContent = cell;
      tr.append(td);
    }
    return tr;
  }

  function drawHolders() {
    const recent = run.points.slice(-HOLDER_ROWS).reverse();
    $('holders')
      .querySelector('tbody')
      .replaceChildren(
        ...recent.map((p) =>
          row([String(p.atMs), `#${p.instance + 1}`, p.fence ?? 'no lock', p.answer]),
        ),
      );
    const fences = run.points.filter((p) => p.fence !== null).map((p) => p.fence);
    const fenced = fences.length;
    const distinct = new Set(fences).size;
    $('fence-note').textContent =
      run.points.length === 0
        ? 'Each dot is a success on that instance at that time; hover for its fencing token.'
        : fenced === 0
          ? 'No fencing tokens: this strategy takes no distributed lock; PostgreSQL alone orders the writers.'
          : distinct === fenced
            ? `${fenced} writes carried a fencing token, each a different one; the grey line joins them in token order (the lock's hand-offs).`
            : `${fenced} writes carried a fencing token, from ${distinct} lock holds: the redeems an instance combined into one batch share its holder's token; the grey line joins them in token order.`;
  }

  function drawTimeline() {
    const svg = $('timeline');
    const width = svg.clientWidth || 900;
    const height = svg.clientHeight || 170;
    const instances = run.start ? run.start.instances : [];
    const left = 90;
    const lane = instances.length ? (height - 24) / instances.length : 1;
    // The time axis spans the successes (the lock holders); refusals can go on much longer.
    const lastSuccess = run.points.reduce((last, p) => Math.max(last, p.atMs), 0);
    const span = Math.max(1, lastSuccess || run.lastAt);
    const x = (at) => left + ((width - left - 10) * Math.min(at, span)) / span;
    const children = [];
    instances.forEach((url, i) => {
      const y = 8 + lane * i + lane / 2;
      children.push(svgEl('line', { x1: left, x2: width - 10, y1: y, y2: y, stroke: '#e3e7eb' }));
      const label = svgEl('text', {
        x: 0,
        y: y + 4,
        'font-size': 12,
        fill: COLORS[i % COLORS.length],
      });
      label.textContent = `#${i + 1} ${new URL(url).port ? ':' + new URL(url).port : url}`;
      children.push(label);
    });
    // The lock's hand-offs: successes in fence order, joined. Each token is newer than the one
    // before, so the line only moves right when the holders wrote in turn.
    const fenced = run.points
      .filter((p) => p.fence !== null)
      .sort((a, b) => (BigInt(a.fence) < BigInt(b.fence) ? -1 : 1));
    const laneY = (p) => 8 + lane * p.instance + lane / 2 + ((p.index % 5) - 2) * 3;
    if (fenced.length > 1) {
      const path = fenced.map((p) => `${x(p.atMs).toFixed(1)},${laneY(p).toFixed(1)}`).join(' ');
      children.push(
        svgEl('polyline', { points: path, fill: 'none', stroke: '#9aa5b1', 'stroke-width': 0.8 }),
      );
    }
    const first = fenced.length > 0 ? BigInt(fenced[0].fence) : 0n;
    if (fenced.length > 0 && fenced.length <= 60) {
      fenced.forEach((p, n) => {
        const label = svgEl('text', {
          x: x(p.atMs),
          y: laneY(p) + (n % 2 === 0 ? -7 : 14),
          'font-size': 9,
          'text-anchor': 'middle',
          fill: '#5f6b77',
        });
        label.textContent = `+${BigInt(p.fence) - first}`;
        children.push(label);
      });
    }
    for (const p of run.points) {
      const dot = svgEl('circle', {
        cx: x(p.atMs),
        cy: laneY(p),
        r: 3,
        fill: COLORS[p.instance % COLORS.length],
      });
      const title = svgEl('title', {});
      title.textContent = `instance #${p.instance + 1}, t=${p.atMs} ms, fence ${p.fence ?? 'none (no lock)'}`;
      dot.append(title);
      children.push(dot);
    }
    const axis = svgEl('text', {
      x: width - 10,
      y: height - 4,
      'font-size': 11,
      'text-anchor': 'end',
      fill: '#5f6b77',
    });
    axis.textContent =
      fenced.length > 0 ? `${span} ms · tokens as +n from ${fenced[0].fence}` : `${span} ms`;
    children.push(axis);
    svg.replaceChildren(...children);
  }

  function svgEl(name, attributes) {
    const element = document.createElementNS(SVG_NS, name);
    for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
    return element;
  }
})();
