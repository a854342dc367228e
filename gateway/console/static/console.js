// Switchboard operator console. Uses the public API only: POST/GET
// /api/v1/session (cookie + CSRF token), /api/v1/operators/me, devices,
// calls, parked, directory, history, and the /api/v1/events WebSocket
// (the PBX queues ride on the devices: queues.js)
// (resumed with since=<last seq>; a snapshot replaces the state).
//
// Rendering: WebSocket messages are queued and applied once per animation
// frame; only the lamps they touched are repainted (one DOM pass per
// batch, no per-lamp timers).
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const CALL_MIME = 'application/x-switchboard-call';

  const S = {
    csrf: '', account: '', me: null, myDevice: '',
    devices: new Map(), // id → device (API view)
    lamps: new Map(), // id → element
    order: [], // lamp order
    queue: [], // raw messages not applied yet
    dirty: new Set(), rebuild: false, raf: 0, filterDirty: false,
    seq: 0, hasSeq: false, ws: null, backoff: 500, retry: 0, live: false,
    names: new Map(), // device id → display name (directory)
    opByDevice: new Map(), // device id → operator state (operators on the stream)
    parked: new Map(), consult: null, focusId: '', filter: '',
    bannerTimer: 0, dirTimer: 0, tick: 0, holdUntil: 0, slash: false,
    stats: { firstRenderMs: 0, snapshotMs: 0, buildMs: 0, lamps: 0, batches: 0, events: 0, applyMs: 0, lastBatchMs: 0, maxBatchMs: 0, snapshots: 0, reconnects: 0 },
  };

  // The PBX queues panel (queues.js).
  const queues = window.switchboardQueuePanel({
    $, api, banner, button, elapsed, needDevice, lampNumber,
    name: (id) => S.names.get(id), device: (id) => S.devices.get(id), myDevice: () => S.myDevice,
  });

  // ---- API -------------------------------------------------------------
  class APIError extends Error {
    constructor(status, msg) { super(msg); this.status = status; }
  }

  async function api(method, path, body) {
    const headers = { Accept: 'application/json, application/problem+json' };
    if (method !== 'GET') headers['X-CSRF-Token'] = S.csrf;
    const init = { method, headers, credentials: 'same-origin' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const res = await fetch(path, init);
    let data = null;
    if (res.status !== 204 && /json/.test(res.headers.get('Content-Type') || '')) {
      data = await res.json().catch(() => null);
    }
    if (!res.ok) {
      if (res.status === 401 && S.live && path !== '/api/v1/session') {
        stop();
        showLogin('Your session ended: log in again.');
      }
      throw new APIError(res.status, (data && (data.detail || data.title)) || `${res.status} ${res.statusText}`);
    }
    return data;
  }

  // act runs an API action and reports its failure in the banner.
  async function act(what, fn) {
    try {
      return await fn();
    } catch (e) {
      banner(`${what} failed: ${e.message}`);
      return undefined;
    }
  }

  function banner(text, info) {
    const b = $('banner');
    b.textContent = text;
    b.classList.toggle('info', !!info);
    b.hidden = false;
    clearTimeout(S.bannerTimer);
    S.bannerTimer = setTimeout(() => { b.hidden = true; }, 8000);
  }

  // ---- login -------------------------------------------------------------
  function showLogin(msg) {
    $('console-view').hidden = true;
    $('login-view').hidden = false;
    for (const id of ['who', 'pause-form', 'panic-btn', 'help-btn', 'logout-btn', 'link']) $(id).hidden = true;
    const err = $('login-error');
    err.textContent = msg || '';
    err.hidden = !msg;
    $('account').focus();
  }

  $('login-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    $('login-btn').disabled = true;
    try {
      const s = await api('POST', '/api/v1/session', { account: $('account').value.trim(), password: $('password').value });
      $('password').value = '';
      await begin(s);
    } catch (err) {
      showLogin(err.status === 401 ? 'Wrong account or password.' : err.message);
    } finally {
      $('login-btn').disabled = false;
    }
  });

  $('logout-btn').addEventListener('click', async () => {
    await api('DELETE', '/api/v1/session').catch(() => {});
    stop();
    showLogin('');
  });

  async function begin(session) {
    S.csrf = session.csrf_token || '';
    S.account = session.account;
    S.me = await api('GET', '/api/v1/operators/me');
    S.myDevice = S.me.device || '';
    S.live = true;
    $('login-view').hidden = true;
    $('console-view').hidden = false;
    for (const id of ['who', 'help-btn', 'logout-btn', 'link']) $(id).hidden = false;
    $('me-name').textContent = S.me.display_name || S.me.name;
    $('me-device').textContent = S.myDevice || 'no device';
    $('no-device').hidden = !!S.myDevice;
    renderOperator();
    $('panic-btn').hidden = !(S.me.panic && S.me.panic.enabled);
    $('park-slot').value = localStorage.getItem('console.parkSlot') || '';
    connect();
    loadParked();
    loadHistory();
    loadNames();
    loadOperators();
    clearInterval(S.tick);
    S.tick = setInterval(tickCalls, 1000); // wait times of the few call cards
    $('search').focus();
  }

  function stop() {
    S.live = false;
    clearTimeout(S.retry);
    clearInterval(S.tick);
    if (S.ws) { const ws = S.ws; S.ws = null; ws.close(); }
    S.hasSeq = false;
    S.devices.clear();
    S.parked.clear();
    S.names.clear();
    S.opByDevice.clear();
    S.consult = null;
    S.rebuild = true;
    queues.clear();
    schedule();
  }

  // ---- operator state: pause, panic --------------------------------------
  function renderOperator() {
    const me = S.me;
    const st = $('op-state');
    st.dataset.state = me.state;
    st.textContent = me.state === 'paused' && me.reason ? `paused: ${me.reason}` : me.state;
    const mode = me.pause_mode || 'off';
    $('pause-form').hidden = false;
    const sel = $('pause-reason');
    sel.replaceChildren();
    if (mode !== 'mandatory') sel.append(new Option('(no reason)', ''));
    for (const r of me.pause_reasons || []) sel.append(new Option(r, r));
    sel.hidden = mode === 'off' || me.state === 'paused';
    $('pause-btn').textContent = me.state === 'paused' ? 'Resume' : 'Pause';
  }

  // operatorChanged applies an operator message: my own state (set by me
  // in another tab or by a supervisor) and a colleague's, on their lamp.
  function operatorChanged(o) {
    setOperator(o);
    if (o.name !== S.account || !S.me) return;
    if (S.me.state === o.state && (S.me.reason || '') === (o.reason || '')) return;
    S.me.state = o.state;
    S.me.reason = o.reason || '';
    renderOperator();
    if (o.by && o.by !== S.account) banner(`${o.by} set you ${o.state}${o.reason ? ': ' + o.reason : ''}`, true);
  }

  function setOperator(o) {
    if (!o.device) return;
    const prev = S.opByDevice.get(o.device);
    S.opByDevice.set(o.device, o);
    if (!prev || prev.state !== o.state) { S.dirty.add(o.device); schedule(); }
  }

  async function loadOperators() {
    const r = await api('GET', '/api/v1/operators').catch(() => null);
    for (const o of r || []) setOperator(o);
  }

  async function togglePause() {
    const paused = S.me.state === 'paused';
    const body = paused ? { state: 'available', reason: '' } : { state: 'paused', reason: $('pause-reason').value };
    const v = await act(paused ? 'Resume' : 'Pause', () => api('PUT', '/api/v1/operators/me/state', body));
    if (v) {
      S.me.state = v.state;
      S.me.reason = v.reason || '';
      renderOperator();
    }
  }
  $('pause-form').addEventListener('submit', (e) => { e.preventDefault(); togglePause(); });

  $('panic-btn').addEventListener('click', async () => {
    if (!S.myDevice) return banner('Panic: no device is assigned to you');
    // The server places it from my device and logs who pressed it.
    const r = await act('Panic call', () => api('POST', '/api/v1/operators/me/panic'));
    if (r) banner(`Panic call placed to ${S.me.panic.number}`, true);
  });

  // ---- event stream ----------------------------------------------------------
  function connect() {
    if (!S.live) return;
    const u = new URL('/api/v1/events', location.href);
    u.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    if (S.hasSeq) u.searchParams.set('since', String(S.seq));
    const ws = new WebSocket(u);
    S.ws = ws;
    ws.onopen = () => { S.backoff = 500; setLink(true); };
    ws.onmessage = (e) => { S.queue.push(e.data); schedule(); };
    ws.onclose = () => {
      if (S.ws !== ws) return;
      S.ws = null;
      setLink(false);
      if (!S.live) return;
      S.stats.reconnects++;
      const d = Math.max(S.backoff * (0.75 + Math.random() * 0.5), S.holdUntil - performance.now());
      S.backoff = Math.min(S.backoff * 2, 15000);
      S.retry = setTimeout(() => {
        // a 401 on the session means the login is gone: ask again
        api('GET', '/api/v1/session').then(connect, (e) => { if (e.status !== 401) connect(); });
      }, d);
    };
  }

  function setLink(up) {
    const l = $('link');
    l.dataset.state = up ? 'up' : 'down';
    l.textContent = up ? 'live' : 'reconnecting…';
    $('blf').classList.toggle('down', !up);
    if (!up) { for (const id of S.devices.keys()) S.dirty.add(id); schedule(); }
  }

  function schedule() {
    if (!S.raf) S.raf = requestAnimationFrame(flush);
  }

  // flush applies every queued message, then repaints what changed.
  function flush() {
    S.raf = 0;
    const t0 = performance.now();
    const n = S.queue.length;
    let snapshot = false;
    for (const raw of S.queue) {
      let m;
      try { m = JSON.parse(raw); } catch { continue; }
      if (apply(m)) snapshot = true;
    }
    S.queue.length = 0;
    if (S.rebuild) buildGrid(); else paintDirty();
    if (S.filterDirty) applyFilter();
    if (snapshot) loadParked();
    const dt = performance.now() - t0;
    if (n) {
      S.stats.batches++;
      S.stats.events += n;
      S.stats.applyMs += dt;
      S.stats.lastBatchMs = dt;
      S.stats.maxBatchMs = Math.max(S.stats.maxBatchMs, dt);
    }
    if (snapshot && !S.stats.firstRenderMs) {
      // after the browser has laid out and painted the grid
      requestAnimationFrame(() => setTimeout(() => {
        S.stats.firstRenderMs = performance.now();
        S.stats.lamps = S.lamps.size;
        document.body.dataset.rendered = String(S.lamps.size);
      }, 0));
    }
  }

  // apply folds one message into the state; it reports a snapshot.
  function apply(m) {
    if (m.type !== 'snapshot' && S.hasSeq && m.seq && m.seq <= S.seq) return false; // seen already
    if (m.seq !== undefined) { S.seq = m.seq; S.hasSeq = true; }
    switch (m.type) {
      case 'snapshot': {
        const t0 = performance.now();
        S.stats.snapshots++;
        S.devices.clear();
        const order = [];
        for (const d of m.devices || []) { S.devices.set(d.id, d); order.push(d.id); }
        S.order = order;
        S.rebuild = true;
        S.stats.snapshotMs = performance.now() - t0;
        return true;
      }
      case 'device': {
        const d = m.device;
        if (!d) return false;
        if (!S.devices.has(d.id)) { S.order.push(d.id); S.rebuild = true; }
        S.devices.set(d.id, d);
        S.dirty.add(d.id);
        return false;
      }
      case 'link_down':
        for (const d of S.devices.values()) {
          if (d.source === m.source) { d.stale = true; S.dirty.add(d.id); }
        }
        banner(`Link to ${m.source} is down: its lamps are stale`);
        return false;
      case 'link_up':
        banner(`Link to ${m.source} is back`, true);
        return false;
      case 'operator':
        if (m.operator) operatorChanged(m.operator);
        return false;
      case 'parked':
        if (m.parked) S.parked.set(m.parked.slot, m.parked);
        renderParked();
        return false;
      case 'unparked':
      case 'recall':
        if (m.parked) S.parked.delete(m.parked.slot);
        renderParked();
        if (m.type === 'recall') banner(`Recall${m.parked ? ' from ' + m.parked.slot : ''}${m.detail ? ': ' + m.detail : ''}`, true);
        return false;
    }
    return false;
  }

  // ---- the lamp grid -------------------------------------------------------
  const LINE_TEXT = { idle: 'idle', ringing: 'ringing', busy: 'busy', held: 'on hold', offline: 'offline', unknown: 'unknown' };

  function lampStatus(d) {
    let s = LINE_TEXT[d.line] || d.line;
    if (d.dnd) s += ' · DND';
    if (d.presence === 'away') s += ' · away';
    if ((d.forwarding || []).length) s += ' · fwd';
    const op = S.opByDevice.get(d.id);
    if (op && op.state === 'paused') s += ' · paused';
    if (d.stale || $('blf').classList.contains('down')) s += ' · stale';
    return s;
  }

  function paint(el, d) {
    if (el.dataset.line !== d.line) el.dataset.line = d.line;
    const stale = !!d.stale || $('blf').classList.contains('down');
    el.classList.toggle('stale', stale);
    const st = lampStatus(d);
    const s = el.lastChild;
    if (s.textContent !== st) s.textContent = st;
    const name = S.names.get(d.id);
    el.setAttribute('aria-label', `${name ? name + ', ' : ''}${d.device} (${d.source}): ${st}`);
  }

  function newLamp(d) {
    const el = document.createElement('div');
    el.className = 'lamp';
    el.setAttribute('role', 'listitem');
    el.tabIndex = -1;
    el.dataset.id = d.id;
    el.title = d.id;
    const n = document.createElement('span');
    n.className = 'n';
    n.textContent = S.names.get(d.id) || d.device;
    const s = document.createElement('span');
    s.className = 's';
    el.append(n, s);
    if (d.id === S.myDevice) el.classList.add('mine');
    paint(el, d);
    return el;
  }

  function buildGrid() {
    const t0 = performance.now();
    S.rebuild = false;
    S.dirty.clear();
    S.lamps.clear();
    const frag = document.createDocumentFragment();
    for (const id of S.order) {
      const d = S.devices.get(id);
      if (!d) continue;
      const el = newLamp(d);
      S.lamps.set(id, el);
      frag.append(el);
    }
    $('blf').replaceChildren(frag);
    queues.sync(S.devices, S.order, null);
    const first = S.lamps.get(S.focusId) || S.lamps.values().next().value;
    if (first) first.tabIndex = 0;
    S.filterDirty = true;
    renderCalls();
    $('lamp-count').textContent = `${S.lamps.size} lamps`;
    S.stats.buildMs = performance.now() - t0;
  }

  function paintDirty() {
    let mine = false;
    if (S.dirty.size) queues.sync(S.devices, S.order, S.dirty);
    for (const id of S.dirty) {
      const el = S.lamps.get(id);
      const d = S.devices.get(id);
      if (el && d) paint(el, d);
      if (id === S.myDevice) mine = true;
    }
    S.dirty.clear();
    if (mine) renderCalls();
  }

  function applyFilter() {
    S.filterDirty = false;
    const q = S.filter.toLowerCase();
    let shown = 0;
    for (const [id, el] of S.lamps) {
      const name = S.names.get(id);
      const hide = q !== '' && !id.toLowerCase().includes(q) && !(name && name.toLowerCase().includes(q));
      if (el.classList.contains('hide') !== hide) el.classList.toggle('hide', hide);
      if (!hide) shown++;
    }
    $('lamp-count').textContent = q ? `${shown} of ${S.lamps.size} lamps` : `${S.lamps.size} lamps`;
  }

  function visibleLamps() {
    return [...S.lamps.values()].filter((el) => !el.classList.contains('hide'));
  }

  function focusLamp(el) {
    if (!el) return;
    for (const l of $('blf').querySelectorAll('.lamp[tabindex="0"]')) l.tabIndex = -1;
    el.tabIndex = 0;
    el.focus();
    S.focusId = el.dataset.id;
  }

  const grid = $('blf');
  grid.addEventListener('click', (e) => focusLamp(e.target.closest('.lamp')));
  grid.addEventListener('focusin', (e) => { const el = e.target.closest('.lamp'); if (el) S.focusId = el.dataset.id; });
  grid.addEventListener('dblclick', (e) => {
    const el = e.target.closest('.lamp');
    if (el) transferOrCall(el.dataset.id, false);
  });
  grid.addEventListener('keydown', (e) => {
    const el = e.target.closest('.lamp');
    if (!el || e.ctrlKey || e.metaKey || e.altKey) return;
    const vis = visibleLamps();
    const i = vis.indexOf(el);
    const cols = getComputedStyle(grid).gridTemplateColumns.split(' ').length || 1;
    const step = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -cols, ArrowDown: cols, Home: -i, End: vis.length - 1 - i }[e.key];
    if (step === undefined) {
      if (e.key === 'Enter' && !S.consult) { e.preventDefault(); transferOrCall(el.dataset.id, false); } // consulting: Enter completes (below)
      return;
    }
    e.preventDefault();
    focusLamp(vis[Math.max(0, Math.min(vis.length - 1, i + step))]);
  });

  // Drag a call card onto a lamp: blind transfer; with Shift: consult.
  function dropTarget(e) {
    return e.target.closest && e.target.closest('.lamp, #dir-results li, #parked-zone');
  }
  function hasCall(e) {
    return e.dataTransfer && [...e.dataTransfer.types].includes(CALL_MIME);
  }
  for (const zone of [grid, $('dir-results'), $('park-h').parentElement]) {
    zone.addEventListener('dragover', (e) => {
      if (!hasCall(e)) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = 'move';
    });
    zone.addEventListener('dragenter', (e) => {
      const t = hasCall(e) && (dropTarget(e) || zone);
      if (t) t.classList.add('drop-over');
    });
    zone.addEventListener('dragleave', (e) => {
      const t = dropTarget(e) || zone;
      if (t && !t.contains(e.relatedTarget)) t.classList.remove('drop-over');
    });
    zone.addEventListener('drop', (e) => {
      if (!hasCall(e)) return;
      e.preventDefault();
      for (const o of document.querySelectorAll('.drop-over')) o.classList.remove('drop-over');
      const call = e.dataTransfer.getData(CALL_MIME);
      if (zone === grid) {
        const lamp = e.target.closest('.lamp');
        if (lamp) transferTo(call, lampNumber(lamp.dataset.id), e.shiftKey);
      } else if (zone === $('dir-results')) {
        const li = e.target.closest('li');
        if (li && li.dataset.number) transferTo(call, li.dataset.number, e.shiftKey);
      } else {
        park(call);
      }
    });
  }

  function lampNumber(id) {
    const d = S.devices.get(id);
    return d ? d.device : id.slice(id.indexOf(':') + 1);
  }

  // ---- my calls ---------------------------------------------------------------
  const STATE_TEXT = { alerting: 'ringing', queued: 'waiting', connected: 'connected', hold: 'on hold', initiated: 'dialling', fail: 'failed' };

  function myCalls() {
    const d = S.devices.get(S.myDevice);
    return d ? (d.calls || []).slice().sort((a, b) => (a.since < b.since ? -1 : 1)) : [];
  }

  function currentCall() {
    const cs = myCalls();
    if (S.consult) return cs.find((c) => c.call_id === S.consult.consult) || cs.find((c) => c.call_id === S.consult.held);
    return cs.find((c) => c.state === 'connected' || c.state === 'initiated') || cs.find((c) => c.state === 'hold');
  }

  function elapsed(since) {
    const s = Math.max(0, Math.floor((Date.now() - Date.parse(since)) / 1000));
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  }

  function button(text, cls, fn, key) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = text;
    if (cls) b.className = cls;
    if (key) b.setAttribute('aria-keyshortcuts', key);
    b.addEventListener('click', fn);
    return b;
  }

  function renderCalls() {
    const ul = $('calls');
    const cs = myCalls();
    if (S.live && cs.length === 0 && ul.childElementCount > 0) loadHistory(); // a call ended: it may be in the history now
    $('calls-count').textContent = String(cs.length);
    ul.replaceChildren(...cs.map((c) => {
      const li = document.createElement('li');
      li.className = 'call';
      li.dataset.call = c.call_id;
      li.dataset.state = c.state;
      li.draggable = true;
      li.tabIndex = 0;
      const party = c.other || c.calling || c.called || 'unknown';
      const head = document.createElement('div');
      head.className = 'who-line';
      const p = document.createElement('span');
      p.textContent = party;
      const t = document.createElement('span');
      t.className = 'elapsed';
      t.dataset.since = c.since;
      t.textContent = elapsed(c.since);
      head.append(p, t);
      const meta = document.createElement('div');
      meta.className = 'meta';
      meta.textContent = `${STATE_TEXT[c.state] || c.state} · ${c.call_id}`;
      const actions = document.createElement('div');
      actions.className = 'actions';
      if (c.state === 'alerting' || c.state === 'queued') actions.append(button('Answer', 'primary', () => answer(c.call_id), 'a'));
      if (c.state === 'connected') actions.append(button('Hold', '', () => callAction(c.call_id, 'hold'), 'u'));
      if (c.state === 'hold') actions.append(button('Retrieve', '', () => callAction(c.call_id, 'retrieve'), 'u'));
      if (c.state === 'connected' || c.state === 'hold') actions.append(button('Park', '', () => park(c.call_id), 'p'));
      actions.append(button('Clear', 'danger', () => callAction(c.call_id, 'clear'), 'h'));
      li.setAttribute('aria-label', `Call with ${party}, ${STATE_TEXT[c.state] || c.state}. Drag onto a lamp to transfer.`);
      li.append(head, meta, actions);
      li.addEventListener('dragstart', (e) => {
        e.dataTransfer.setData(CALL_MIME, c.call_id);
        e.dataTransfer.setData('text/plain', party);
        e.dataTransfer.effectAllowed = 'move';
        li.classList.add('dragging');
      });
      li.addEventListener('dragend', () => li.classList.remove('dragging'));
      return li;
    }));
    if (S.consult && !cs.some((c) => c.call_id === S.consult.held)) S.consult = null;
    renderConsult();
  }

  function tickCalls() {
    for (const t of $('calls').querySelectorAll('.elapsed')) t.textContent = elapsed(t.dataset.since);
    for (const t of $('parked').querySelectorAll('.elapsed')) t.textContent = elapsed(t.dataset.since);
    queues.tick();
  }

  function needDevice() {
    if (!S.myDevice) banner('No device is assigned to your account');
    return !!S.myDevice;
  }

  function callAction(call, action, extra) {
    if (!needDevice()) return Promise.resolve();
    return act(action, () => api('POST', `/api/v1/calls/${encodeURIComponent(call)}/${action}`, { device: S.myDevice, ...extra }));
  }

  function answer(call) {
    if (!call) {
      const c = myCalls().find((x) => x.state === 'alerting' || x.state === 'queued');
      if (!c) return banner('No call is ringing');
      call = c.call_id;
    }
    return callAction(call, 'answer');
  }

  async function transferTo(call, to, consult) {
    if (!call || !to) return;
    if (consult) {
      const r = await callAction(call, 'consult', { to });
      if (r) {
        S.consult = { held: call, consult: r.call_id, to };
        renderConsult();
      }
      return;
    }
    const r = await callAction(call, 'transfer', { to });
    if (r !== undefined) banner(`Transferred to ${to}`, true);
  }

  function transferOrCall(lampId, consult) {
    const c = currentCall();
    if (c) return transferTo(c.call_id, lampNumber(lampId), consult);
    if (!needDevice() || lampId === S.myDevice) return;
    return act('Call', () => api('POST', '/api/v1/calls', { from: S.myDevice, to: lampNumber(lampId) }));
  }

  function renderConsult() {
    const bar = $('consult-bar');
    bar.hidden = !S.consult;
    if (S.consult) $('consult-text').textContent = `Consulting ${S.consult.to}`;
  }

  $('complete-btn').addEventListener('click', completeConsult);
  $('cancel-consult-btn').addEventListener('click', cancelConsult);

  async function completeConsult() {
    const c = S.consult;
    if (!c) return;
    const r = await callAction(c.held, 'transfer', { consult_call: c.consult });
    if (r !== undefined) { S.consult = null; renderConsult(); banner(`Transferred to ${c.to}`, true); }
  }

  async function cancelConsult() {
    const c = S.consult;
    if (!c) return;
    S.consult = null;
    renderConsult();
    if (c.consult) await callAction(c.consult, 'clear');
    await callAction(c.held, 'retrieve');
  }

  // ---- park -------------------------------------------------------------------
  async function loadParked() {
    const r = await act('Loading parked calls', () => api('GET', '/api/v1/parked'));
    if (!r) return;
    S.parked = new Map(r.parked.map((p) => [p.slot, p]));
    renderParked();
  }

  function renderParked() {
    const list = [...S.parked.values()].sort((a, b) => (a.parked < b.parked ? -1 : 1));
    $('parked-count').textContent = String(list.length);
    $('parked').replaceChildren(...list.map((p) => {
      const li = document.createElement('li');
      li.dataset.slot = p.slot;
      const txt = document.createElement('span');
      txt.textContent = `${p.slot}${p.operator !== S.account ? ' · ' + p.operator : ''} · `;
      const t = document.createElement('span');
      t.className = 'elapsed';
      t.dataset.since = p.parked;
      t.textContent = elapsed(p.parked);
      txt.append(t);
      li.append(txt, button('Retrieve', 'primary', () => retrieve(p.slot), 'r'));
      return li;
    }));
  }

  async function park(call) {
    if (!call) {
      const c = currentCall();
      if (!c) return banner('No call to park');
      call = c.call_id;
    }
    const slot = $('park-slot').value.trim();
    localStorage.setItem('console.parkSlot', slot);
    const p = await callAction(call, 'park', slot ? { slot } : {});
    if (p && p.slot) { S.parked.set(p.slot, p); renderParked(); }
  }

  async function retrieve(slot) {
    if (!slot) {
      const first = [...S.parked.values()].sort((a, b) => (a.parked < b.parked ? -1 : 1))[0];
      if (!first) return banner('No parked call');
      slot = first.slot;
    }
    if (!needDevice()) return;
    const r = await act('Retrieve', () => api('POST', `/api/v1/parked/${encodeURIComponent(slot)}/retrieve`, { device: S.myDevice }));
    if (r) { S.parked.delete(slot); renderParked(); }
  }

  $('park-form').addEventListener('submit', (e) => { e.preventDefault(); park(); });

  // ---- search: lamps and directory ------------------------------------------------
  $('search').addEventListener('input', () => {
    S.filter = $('search').value.trim();
    S.filterDirty = true;
    schedule();
    clearTimeout(S.dirTimer);
    S.dirTimer = setTimeout(searchDirectory, 200);
  });

  async function searchDirectory() {
    const q = S.filter;
    const ul = $('dir-results');
    if (q.length < 2) { ul.hidden = true; ul.replaceChildren(); return; }
    const r = await api('GET', `/api/v1/directory?q=${encodeURIComponent(q)}&limit=20`).catch(() => null);
    if (!r || q !== S.filter) return;
    ul.replaceChildren(...(r.entries || []).map((en) => {
      const li = document.createElement('li');
      const number = (en.numbers && en.numbers[0]) || (en.device ? lampNumber(en.device) : '');
      li.dataset.number = number;
      const t = document.createElement('span');
      t.textContent = `${en.name} · ${number}${en.company ? ' · ' + en.company : ''} (${en.kind})`;
      li.append(t);
      if (number) {
        li.append(button('Transfer / call', '', () => {
          const c = currentCall();
          if (c) transferTo(c.call_id, number, false);
          else if (needDevice()) act('Call', () => api('POST', '/api/v1/calls', { from: S.myDevice, to: number }));
        }));
      }
      return li;
    }));
    ul.hidden = ul.childElementCount === 0;
  }

  // target is the lamp a keyboard transfer goes to: the focused lamp,
  // else the one the search leaves, else the first directory result.
  function target() {
    const el = S.lamps.get(S.focusId);
    if (el && !el.classList.contains('hide') && (document.activeElement === el || S.filter === '')) return lampNumber(S.focusId);
    if (S.filter) {
      const vis = visibleLamps();
      if (vis.length) return lampNumber(vis[0].dataset.id);
      const li = $('dir-results').querySelector('li[data-number]');
      if (li) return li.dataset.number;
    }
    return el ? lampNumber(S.focusId) : '';
  }

  // loadNames labels the lamps of the gateway's users with their display
  // names from the directory (as many as directory.search_max_results).
  // loadNames labels every lamp: GET /api/v1/devices/names, page after
  // page (the directory's search is capped; this is not).
  async function loadNames() {
    let after = '';
    for (let pages = 0; pages < 100 && S.live; pages++) {
      const r = await api('GET', '/api/v1/devices/names?limit=5000&after=' + encodeURIComponent(after)).catch(() => null);
      if (!r) break;
      for (const en of r.names || []) S.names.set(en.device, en.name);
      if (!r.next) break;
      after = r.next;
    }
    if (S.names.size) { S.rebuild = true; schedule(); }
  }

  // ---- history -------------------------------------------------------------------
  async function loadHistory() {
    const r = await api('GET', '/api/v1/history?limit=30').catch(() => null);
    if (!r) return;
    $('history').replaceChildren(...r.calls.map((c) => {
      const li = document.createElement('li');
      const who = document.createElement('span');
      who.textContent = `${c.caller} → ${c.target || c.callee}`;
      const when = document.createElement('span');
      when.className = 'muted';
      when.textContent = `${new Date(c.setup).toLocaleTimeString()} · ${Math.round(c.duration_s)}s`;
      li.append(who, when);
      return li;
    }));
  }
  $('hist-refresh').addEventListener('click', loadHistory);

  // ---- keyboard -------------------------------------------------------------------
  $('help-btn').addEventListener('click', () => $('help').showModal());

  document.addEventListener('keydown', (e) => {
    if (!S.live || e.ctrlKey || e.metaKey || e.altKey || $('help').open) return;
    const typing = e.target.matches && e.target.matches('input, select, textarea');
    if (typing) {
      if (e.key === 'Escape' && e.target.id === 'search') {
        $('search').value = '';
        S.filter = '';
        S.filterDirty = true;
        $('dir-results').hidden = true;
        schedule();
      } else if (e.key === 'Enter' && e.target.id === 'search') {
        e.preventDefault();
        focusLamp(visibleLamps()[0]);
      }
      return;
    }
    const keys = {
      '?': () => $('help').showModal(),
      // focused on keyup: the key's own character must not land in the field
      '/': () => { S.slash = true; },
      a: () => answer(),
      h: () => { const c = S.consult ? myCalls().find((x) => x.call_id === S.consult.consult) : currentCall(); if (c) callAction(c.call_id, 'clear'); },
      u: () => { const c = currentCall(); if (c) callAction(c.call_id, c.state === 'hold' ? 'retrieve' : 'hold'); },
      t: () => { const c = currentCall(); const to = target(); if (c && to) transferTo(c.call_id, to, false); else banner('Transfer needs a call and a focused lamp'); },
      c: () => { const c = currentCall(); const to = target(); if (c && to) transferTo(c.call_id, to, true); },
      p: () => park(),
      q: () => queues.takeNext(),
      r: () => retrieve(),
      z: () => togglePause(),
      Enter: () => completeConsult(),
      Escape: () => cancelConsult(),
    };
    const f = keys[e.key];
    if (!f) return;
    if (e.key === 'Enter' && (!S.consult || e.target.closest('button'))) return;
    if (e.key === 'Escape' && !S.consult) return;
    e.preventDefault();
    f();
  });

  document.addEventListener('keyup', (e) => {
    if (e.key === '/' && S.slash) { S.slash = false; $('search').focus(); $('search').select(); }
  });

  // For tests and the benchmark: what the page measured.
  // dropStream closes the event stream as a network loss would and keeps
  // it closed for at least holdMs before the usual reconnect.
  window.switchboardConsole = {
    stats: () => ({ ...S.stats, lamps: S.lamps.size, seq: S.seq, live: !!S.ws }),
    dropStream: (holdMs) => { S.holdUntil = performance.now() + (holdMs || 0); if (S.ws) S.ws.close(); },
  };

  // ---- start ---------------------------------------------------------------------
  api('GET', '/api/v1/session').then(begin, () => showLogin(''));
})();
