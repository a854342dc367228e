// Switchboard admin UI: a single page on the gateway's public JSON API.
// Every request is same-origin; unsafe ones carry the session's CSRF token.
// A 401 (expired or ended session) brings the login form back.
'use strict';
(function () {
  const $ = (sel) => document.querySelector(sel);
  const state = { csrf: '', account: '', view: '', timer: 0, historyNext: '' };

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v;
      else if (k === 'onclick') e.addEventListener('click', v);
      else if (k.startsWith('data-')) e.setAttribute(k, v);
      else e[k] = v;
    }
    for (const kid of kids) {
      if (kid === null || kid === undefined) continue;
      e.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
    }
    return e;
  }

  class SessionExpired extends Error {}

  // api does one request; it returns {status, body} and throws
  // SessionExpired (after showing the login) on 401.
  async function api(method, path, body, contentType) {
    const headers = { Accept: 'application/json' };
    if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = state.csrf;
    let payload;
    if (body !== undefined) {
      if (contentType) { headers['Content-Type'] = contentType; payload = body; }
      else { headers['Content-Type'] = 'application/json'; payload = JSON.stringify(body); }
    }
    const res = await fetch(path, { method, headers, body: payload, credentials: 'same-origin', cache: 'no-store' });
    const text = await res.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (_) { data = text; }
    if (res.status === 401 && path !== '/api/v1/session') {
      showLogin('Your session has expired: log in again.');
      throw new SessionExpired('session expired');
    }
    return { status: res.status, body: data };
  }

  function problemText(r) {
    const b = r.body || {};
    return (b.title || ('HTTP ' + r.status)) + (b.detail ? ': ' + b.detail : '');
  }

  function flash(msg, bad) {
    const f = $('#flash');
    f.textContent = msg;
    f.className = bad ? 'error' : 'ok';
    f.hidden = false;
    clearTimeout(flash.t);
    flash.t = setTimeout(() => { f.hidden = true; }, 6000);
  }

  // act runs an unsafe request and reports its outcome.
  async function act(method, path, body, okMsg, ctype) {
    try {
      const r = await api(method, path, body, ctype);
      if (r.status >= 300) { flash(problemText(r), true); return null; }
      if (okMsg) flash(okMsg, false);
      return r;
    } catch (e) {
      if (!(e instanceof SessionExpired)) flash(String(e), true);
      return null;
    }
  }

  // table fills t with a header and one row per item.
  function table(t, cols, items, rowAttrs) {
    t.replaceChildren();
    const head = el('tr', {}, ...cols.map((c) => el('th', {}, c[0])));
    t.append(el('thead', {}, head));
    const tb = el('tbody');
    if (!items || items.length === 0) {
      tb.append(el('tr', { class: 'empty' }, el('td', { colSpan: cols.length }, 'Nothing to show')));
    }
    for (const it of items || []) {
      const tr = el('tr', rowAttrs ? rowAttrs(it) : {});
      for (const c of cols) {
        const v = c[1](it);
        tr.append(el('td', c[2] ? { class: c[2] } : {}, v === undefined || v === null ? '' : v));
      }
      tb.append(tr);
    }
    t.append(tb);
  }

  const when = (s) => (s ? new Date(s).toLocaleString() : '');
  const ago = (s) => {
    if (!s) return '';
    const d = Math.round((Date.now() - new Date(s).getTime()) / 1000);
    return d < 0 ? 'in ' + (-d) + ' s' : d + ' s ago';
  };
  const pill = (txt, good) => el('span', { class: 'pill ' + (good ? 'good' : 'bad') }, txt);

  // ---- login, session ----
  function showLogin(msg) {
    clearInterval(state.timer);
    state.csrf = '';
    $('#app').hidden = true;
    $('#login').hidden = false;
    const e = $('#login-error');
    e.textContent = msg || '';
    e.hidden = !msg;
    $('#password').value = '';
    $('#password').focus();
  }

  function showApp(sess) {
    state.csrf = sess.csrf_token || '';
    state.account = sess.account;
    $('#whoami').textContent = sess.account + ' (' + sess.role + ')';
    $('#login').hidden = true;
    $('#app').hidden = false;
    route();
  }

  async function boot() {
    try {
      const r = await api('GET', '/api/v1/session');
      if (r.status === 200 && r.body && r.body.role === 'admin' && r.body.via === 'session') { showApp(r.body); return; }
    } catch (_) { /* shown below */ }
    showLogin('');
  }

  $('#login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const r = await api('POST', '/api/v1/session', { account: $('#account').value, password: $('#password').value });
    if (r.status !== 200 && r.status !== 201) { showLogin(problemText(r)); return; }
    if (r.body.role !== 'admin') {
      await api('DELETE', '/api/v1/session').catch(() => {});
      showLogin('This account is not an administrator.');
      return;
    }
    showApp(r.body);
  });

  $('#logout-btn').addEventListener('click', async () => {
    await api('DELETE', '/api/v1/session').catch(() => {});
    showLogin('Logged out.');
  });

  // ---- views ----
  const views = {
    dashboard: { load: loadDashboard, every: 5000 },
    registrations: { load: loadRegistrations, every: 5000 },
    calls: { load: loadCalls, every: 2000 },
    history: { load: loadHistory },
    trunks: { load: loadTrunks, every: 10000 },
    cti: { load: loadCTI, every: 5000 },
    bans: { load: loadBans, every: 10000 },
    users: { load: loadUsers },
    contacts: { load: loadContacts },
    config: { load: loadConfig },
    accounts: { load: loadAccounts },
  };

  function route() {
    if ($('#app').hidden) return;
    let name = location.hash.replace('#', '') || 'dashboard';
    if (!views[name]) name = 'dashboard';
    state.view = name;
    for (const v of document.querySelectorAll('.view')) v.hidden = v.id !== 'view-' + name;
    for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.getAttribute('href') === '#' + name);
    clearInterval(state.timer);
    state.laddersAt = 0;
    const run = () => views[name].load().catch((e) => { if (!(e instanceof SessionExpired)) flash(String(e), true); });
    run();
    if (views[name].every) state.timer = setInterval(run, views[name].every);
  }
  window.addEventListener('hashchange', route);

  async function get(path) {
    const r = await api('GET', path);
    if (r.status !== 200) throw new Error(path + ': ' + problemText(r));
    return r.body;
  }

  function chart(svg, values) {
    svg.replaceChildren();
    if (values.length === 0) return;
    const max = Math.max(1, ...values);
    const n = Math.max(values.length - 1, 1);
    const pts = values.map((v, i) => (i * 300 / n).toFixed(1) + ',' + (58 - v / max * 54).toFixed(1)).join(' ');
    const ns = 'http://www.w3.org/2000/svg';
    const line = document.createElementNS(ns, 'polyline');
    line.setAttribute('points', values.length === 1 ? '0,' + pts.split(',')[1] + ' 300,' + pts.split(',')[1] : pts);
    line.setAttribute('class', 'line');
    svg.append(line);
    const t = document.createElementNS(ns, 'title');
    t.textContent = 'max ' + max;
    svg.append(t);
  }

  function regColumns(withAction) {
    const cols = [
      ['AOR', (r) => r.aor], ['Contact', (r) => r.contact], ['Transport', (r) => r.transport],
      ['Source', (r) => r.source], ['User agent', (r) => r.user_agent], ['Expires', (r) => ago(r.expires)],
    ];
    if (withAction) {
      cols.push(['', (r) => el('button', {
        class: 'danger unregister', type: 'button',
        onclick: async () => {
          if (await act('DELETE', '/api/v1/registrations/' + encodeURIComponent(r.aor), undefined, r.aor + ' unregistered')) loadRegistrations();
        },
      }, 'Unregister')]);
    }
    return cols;
  }

  async function loadDashboard() {
    const [st, regs] = await Promise.all([get('/api/v1/stats/series'), get('/api/v1/registrations')]);
    const now = st.now;
    $('#stat-registrations').textContent = now.registrations;
    $('#stat-calls').textContent = now.active_calls;
    const pts = st.points.concat([now]);
    const last = st.points.length ? st.points[st.points.length - 1].calls_per_second : now.calls_per_second;
    $('#stat-cps').textContent = (now.calls_per_second || last || 0).toFixed(2);
    $('#stat-trunks').replaceChildren(now.trunks ? pill(now.trunks_up + ' / ' + now.trunks, now.trunks_up === now.trunks) : '–');
    $('#stat-drivers').replaceChildren(now.drivers ? pill(now.drivers_up + ' / ' + now.drivers, now.drivers_up === now.drivers) : '–');
    chart($('#chart-registrations'), pts.map((p) => p.registrations));
    chart($('#chart-calls'), pts.map((p) => p.active_calls));
    chart($('#chart-cps'), st.points.map((p) => p.calls_per_second));
    regs.sort((a, b) => a.aor.localeCompare(b.aor));
    table($('#dash-registrations'), regColumns(false), regs, (r) => ({ 'data-aor': r.aor }));
  }

  async function loadRegistrations() {
    const regs = await get('/api/v1/registrations');
    const q = $('#reg-search').value.toLowerCase();
    const shown = regs.filter((r) => !q || [r.aor, r.contact, r.user_agent, r.source].join(' ').toLowerCase().includes(q));
    shown.sort((a, b) => a.aor.localeCompare(b.aor));
    table($('#registrations-table'), regColumns(true), shown, (r) => ({ 'data-aor': r.aor }));
  }
  $('#reg-search').addEventListener('input', () => loadRegistrations().catch(() => {}));

  // sameAs reports whether t already shows data (and remembers it), so a
  // poll does not redraw rows (and their buttons) that did not change.
  function sameAs(t, data) {
    const j = JSON.stringify(data);
    if (t.dataset.shown === j) return true;
    t.dataset.shown = j;
    return false;
  }

  const bytes = (n) => (n >= 1048576 ? (n / 1048576).toFixed(1) + ' MiB' : n >= 1024 ? (n / 1024).toFixed(1) + ' KiB' : n + ' B');

  // loadCalls polls every 2 s: the calls and their media each time, the
  // ladders' list every 10 s.
  async function loadCalls() {
    const fresh = !state.laddersAt || Date.now() - state.laddersAt > 10000;
    const [cs, media, ladders] = await Promise.all([get('/api/v1/calls'), get('/api/v1/media/calls'),
      fresh ? get('/api/v1/ladders') : Promise.resolve(null)]);
    const calls = (cs && cs.calls) || [];
    loadMedia((media && media.calls) || []);
    if (ladders) { state.laddersAt = Date.now(); }
    if (!sameAs($('#calls-table'), calls)) table($('#calls-table'), [
      ['Call', (c) => c.id], ['Calling', (c) => c.calling], ['Called', (c) => c.called],
      ['Parties', (c) => (c.parties || []).map((p) => p.device + ' ' + p.state).join(', ')],
      ['Since', (c) => when(c.since)],
      ['', (c) => el('button', {
        class: 'danger hangup', type: 'button',
        onclick: async () => {
          const p = (c.parties || [])[0];
          const body = p ? { device: p.device } : {};
          if (await act('POST', '/api/v1/calls/' + encodeURIComponent(c.id) + '/clear', body, 'call cleared')) loadCalls();
        },
      }, 'Hang up')],
    ], calls, (c) => ({ 'data-call': c.id }));
    if (!ladders || sameAs($('#ladders-table'), ladders)) return;
    table($('#ladders-table'), [
      ['Started', (l) => when(l.start)], ['From', (l) => l.from], ['To', (l) => l.to],
      ['Final', (l) => (l.status ? l.status + ' ' + (l.reason || '') : '')], ['Messages', (l) => l.message_count],
      ['', (l) => el('span', {},
        el('button', { class: 'secondary view-ladder', type: 'button', onclick: () => showLadder(l.id) }, 'Ladder'), ' ',
        el('a', { href: '/api/v1/ladders/' + encodeURIComponent(l.id) + '.pcap', download: l.id + '.pcap' }, 'PCAP'))],
    ], ladders, (l) => ({ 'data-ladder': l.id }));
  }

  // loadMedia shows each answered call's two legs: what the far end sent
  // (in: loss and jitter per RFC 3550) and what the relay sent it (out).
  function loadMedia(calls) {
    const rows = [];
    for (const c of calls) for (const l of c.legs || []) rows.push({ c, l });
    const who = (p) => (p && (p.user || p.number)) || '';
    table($('#media-table'), [
      ['Call', (r) => (r.l.leg === 'a' ? r.c.id : '')],
      ['Leg', (r) => (r.l.leg === 'a' ? 'caller ' : 'callee ') + who(r.l.party), 'media-leg'],
      ['Codec', (r) => r.l.codec || '', 'media-codec'],
      ['In', (r) => r.l.packets_in + ' pkts, ' + bytes(r.l.bytes_in), 'media-in'],
      ['Out', (r) => r.l.packets_out + ' pkts, ' + bytes(r.l.bytes_out), 'media-out'],
      ['Lost', (r) => r.l.lost + ' of ' + r.l.expected + ' (' + (100 * (r.l.loss_ratio || 0)).toFixed(1) + ' %)', 'media-loss'],
      ['Jitter', (r) => (r.l.jitter_ms || 0).toFixed(1) + ' ms', 'media-jitter'],
      ['Last packet', (r) => (r.l.last_packet_age_ms === undefined ? 'none' : (r.l.last_packet_age_ms / 1000).toFixed(1) + ' s ago'), 'media-last'],
      ['Relay', (r) => 'ours ' + r.l.local + (r.l.latched ? ', from ' + r.l.latched : '') +
        (r.l.remote && r.l.remote !== r.l.latched ? ' (SDP ' + r.l.remote + ')' : ''), 'media-addrs'],
      ['WebRTC', (r) => (r.l.webrtc ? pill('ICE/DTLS ' + r.l.webrtc.state + (r.l.webrtc.error ? ': ' + r.l.webrtc.error : ''),
        r.l.webrtc.state === 'connected') : ''), 'media-webrtc'],
    ], rows, (r) => ({ 'data-call': r.c.id, 'data-leg': r.l.leg }));
  }

  async function showLadder(id) {
    const l = await get('/api/v1/ladders/' + encodeURIComponent(id));
    const box = $('#ladder');
    box.replaceChildren();
    box.setAttribute('data-ladder', id);
    const parties = l.parties || [];
    box.append(el('h3', {}, 'Ladder of ' + (l.from || '') + ' → ' + (l.to || '')));
    const grid = el('div', { class: 'ladder-grid' });
    const cols = Math.max(parties.length, 1);
    grid.style.gridTemplateColumns = '5em repeat(' + cols + ', 1fr)';
    const put = (e, row, col, span) => { e.style.gridRow = String(row); e.style.gridColumn = col + ' / span ' + (span || 1); grid.append(e); return e; };
    put(el('div', { class: 'ladder-head' }, 'ms'), 1, 1);
    parties.forEach((p, i) => put(el('div', { class: 'ladder-head', title: (p.addrs || []).join(' ') }, p.name + (p.gateway ? ' (gateway)' : '')), 1, i + 2));
    (l.messages || []).forEach((m, k) => {
      const row = k + 2;
      put(el('div', { class: 'ladder-time' }, (m.offset_ms || 0).toFixed(1)), row, 1);
      for (let c = 0; c < parties.length; c++) put(el('div', { class: 'ladder-life' }), row, c + 2);
      const lo = Math.min(m.from, m.to), hi = Math.max(m.from, m.to);
      const right = m.to > m.from;
      const arrow = el('div', { class: 'ladder-arrow ' + (right ? 'right' : 'left'), title: m.transport + ' ' + m.src + ' → ' + m.dst },
        el('span', { class: 'ladder-msg', onclick: () => { pre.textContent = m.text || ''; } }, m.label));
      put(arrow, row, lo + 2, Math.max(hi - lo, 1));
    });
    const pre = el('pre', { class: 'ladder-text' }, 'Click a message to see it.');
    box.append(grid, pre);
    box.hidden = false;
  }

  const mediaText = (m) => (m && m.packets
    ? m.packets + ' pkts, ' + (m.lost || 0) + ' lost, jitter ' + (m.jitter_ms || 0).toFixed(1) + ' ms' : '');

  async function loadHistory(more) {
    const path = '/api/v1/history?limit=50' + (more === true && state.historyNext ? '&before=' + encodeURIComponent(state.historyNext) : '');
    const page = await get(path);
    state.historyNext = page.next || '';
    const rows = (more === true ? (state.historyRows || []) : []).concat(page.calls || []);
    state.historyRows = rows;
    table($('#history-table'), [
      ['Setup', (c) => when(c.setup)], ['Direction', (c) => c.direction], ['Caller', (c) => c.caller],
      ['Callee', (c) => c.callee + (c.trunk ? ' (trunk ' + c.trunk + ')' : '')],
      ['Result', (c) => c.status + ' ' + (c.cause || '')],
      ['Duration', (c) => (c.duration_s !== undefined ? c.duration_s + ' s' : '')],
      ['Ended by', (c) => c.ended_by], ['Media A', (c) => mediaText(c.media_a)], ['Media B', (c) => mediaText(c.media_b)],
    ], rows, (c) => ({ 'data-call': c.call_id || '' }));
    $('#history-more').hidden = !state.historyNext;
  }
  $('#history-more').addEventListener('click', () => loadHistory(true).catch(() => {}));

  // targetText is one resolved target: the SRV/URI host when it is not the
  // address itself, the address and port, transport, SRV priority/weight.
  function targetText(g) {
    const ip = (g.addr || '').replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
    return [g.host && g.host !== ip ? g.host : '', g.addr, g.transport,
      g.priority || g.weight ? 'prio ' + g.priority + ' weight ' + g.weight : '', g.source ? '(' + g.source + ')' : '']
      .filter(Boolean).join(' ');
  }

  async function loadTrunks() {
    const trunks = await get('/api/v1/trunks');
    const rows = [];
    for (const t of trunks) {
      const targets = t.targets || [];
      if (targets.length === 0) rows.push({ t, g: null });
      for (const g of targets) rows.push({ t, g });
    }
    table($('#trunks-table'), [
      ['Trunk', (r) => r.t.name], ['Configured target', (r) => r.t.target],
      ['DNS target', (r) => (r.g ? targetText(r.g) : r.t.last_error || 'not resolved'), 'trunk-target'],
      ['Health', (r) => (r.g ? el('span', {}, pill(r.g.health.state, r.g.health.state !== 'down'),
        r.g.health.last_error ? ' ' + r.g.health.last_error : '') : ''), 'trunk-health'],
      ['Probe RTT', (r) => (r.g && r.g.health.probe_rtt_ns ? (r.g.health.probe_rtt_ns / 1e6).toFixed(1) + ' ms' : '')],
      ['Last probe', (r) => (r.g ? ago(r.g.health.last_probe) : '')],
      ['Requests / failed', (r) => (r.g ? r.g.health.requests + ' / ' + r.g.health.failures : '')],
      ['Registration', (r) => (r.t.registration ? (r.t.registration.state || JSON.stringify(r.t.registration)) : '')],
    ], rows, (r) => ({ 'data-trunk': r.t.name }));
  }

  async function loadCTI() {
    const ds = await get('/api/v1/cti/drivers');
    table($('#cti-table'), [
      ['Driver', (d) => d.name], ['Kind', (d) => d.driver || d.path], ['State', (d) => pill(d.state, d.state === 'up')],
      ['Process', (d) => d.process + (d.pid ? ' (pid ' + d.pid + ')' : '')], ['PBX link', (d) => d.link],
      ['Vendor', (d) => [d.vendor, d.version].filter(Boolean).join(' ')], ['Monitors', (d) => d.monitors],
      ['Restarts', (d) => d.restarts], ['Events', (d) => d.events],
      ['', (d) => el('button', {
        class: 'secondary restart', type: 'button',
        onclick: async () => { if (await act('POST', '/api/v1/cti/drivers/' + encodeURIComponent(d.name) + '/restart', undefined, d.name + ' restarted')) loadCTI(); },
      }, 'Restart')],
    ], ds, (d) => ({ 'data-driver': d.name }));
  }

  async function loadBans() {
    const bans = await get('/api/v1/bans');
    table($('#bans-table'), [
      ['Address', (b) => b.ip], ['Reason', (b) => b.reason], ['Until', (b) => when(b.until)],
      ['', (b) => el('button', {
        class: 'danger lift', type: 'button',
        onclick: async () => { if (await act('DELETE', '/api/v1/bans/' + encodeURIComponent(b.ip), undefined, 'ban on ' + b.ip + ' lifted')) loadBans(); },
      }, 'Lift')],
    ], bans, (b) => ({ 'data-ip': b.ip }));
  }

  async function loadUsers() {
    const q = $('#user-search').value;
    const us = await get('/api/v1/users' + (q ? '?q=' + encodeURIComponent(q) : ''));
    table($('#users-table'), [
      ['Username', (u) => u.username], ['Display name', (u) => u.display_name], ['Extension', (u) => u.extension],
      ['Created', (u) => when(u.created_at)],
      ['', (u) => {
        const box = el('span', { class: 'row-actions' });
        const pw = el('input', { type: 'password', class: 'new-password', placeholder: 'new password', autocomplete: 'new-password', hidden: true });
        const save = el('button', {
          class: 'save-password', type: 'button', hidden: true,
          onclick: async () => {
            if (!pw.value) { flash('type the new password', true); return; }
            if (await act('PUT', '/api/v1/users/' + encodeURIComponent(u.username) + '/password', { password: pw.value }, 'password of ' + u.username + ' reset')) loadUsers();
          },
        }, 'Save');
        const reset = el('button', {
          class: 'secondary reset-password', type: 'button',
          onclick: () => { pw.hidden = false; save.hidden = false; reset.hidden = true; pw.focus(); },
        }, 'Reset password');
        const del = el('button', {
          class: 'danger delete-user', type: 'button',
          onclick: async () => {
            if (del.dataset.armed !== '1') { del.dataset.armed = '1'; del.textContent = 'Delete ' + u.username + '?'; return; }
            if (await act('DELETE', '/api/v1/users/' + encodeURIComponent(u.username), undefined, u.username + ' deleted')) loadUsers();
          },
        }, 'Delete');
        box.append(reset, pw, save, ' ', del);
        return box;
      }],
    ], us, (u) => ({ 'data-user': u.username }));
  }
  $('#user-search').addEventListener('input', () => loadUsers().catch(() => {}));
  $('#user-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { username: $('#user-name').value, password: $('#user-password').value, display_name: $('#user-display').value, extension: $('#user-ext').value };
    if (await act('POST', '/api/v1/users', body, 'user ' + body.username + ' added')) {
      ev.target.reset();
      loadUsers().catch(() => {});
    }
  });
  $('#import-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = $('#import-file').files[0];
    if (!f) { flash('choose a CSV file', true); return; }
    const r = await act('POST', '/api/v1/users/import', await f.text(), null, 'text/csv');
    if (!r) return;
    const box = $('#import-report');
    box.replaceChildren(el('p', {}, r.body.imported + ' users imported, ' + r.body.failed.length + ' failed'));
    if (r.body.failed.length) {
      const t = el('table', { id: 'import-failed' });
      table(t, [['Row', (x) => x.row], ['Username', (x) => x.username], ['Reason', (x) => x.reason]], r.body.failed);
      box.append(t);
    }
    box.hidden = false;
    loadUsers().catch(() => {});
  });

  async function loadContacts() {
    const q = $('#contact-search').value;
    const res = await get('/api/v1/directory?q=' + encodeURIComponent(q));
    table($('#contacts-table'), [
      ['Name', (c) => c.name], ['Kind', (c) => c.kind + (c.source ? ' (' + c.source + ')' : '')],
      ['Numbers', (c) => (c.numbers || []).join(', ')], ['Company', (c) => c.company], ['Email', (c) => c.email],
      ['', (c) => (c.kind === 'contact' && c.contact_id ? el('button', {
        class: 'danger delete-contact', type: 'button',
        onclick: async (ev) => {
          const b = ev.currentTarget;
          if (b.dataset.armed !== '1') { b.dataset.armed = '1'; b.textContent = 'Delete ' + c.name + '?'; return; }
          if (await act('DELETE', '/api/v1/directory/contacts/' + encodeURIComponent(c.contact_id), undefined, 'contact deleted')) loadContacts();
        },
      }, 'Delete') : '')],
    ], res.entries || [], (c) => ({ 'data-contact': c.name }));
  }
  $('#contact-search').addEventListener('input', () => loadContacts().catch(() => {}));
  $('#contact-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { name: $('#contact-name').value, numbers: [$('#contact-number').value], company: $('#contact-company').value };
    if (await act('POST', '/api/v1/directory/contacts', body, 'contact added')) { ev.target.reset(); loadContacts().catch(() => {}); }
  });

  $('#contact-import-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = $('#contact-import-file').files[0];
    if (!f) { flash('choose a CSV file', true); return; }
    const r = await act('POST', '/api/v1/directory/contacts/import', await f.text(), null, 'text/csv');
    if (!r) return;
    const box = $('#contact-import-report');
    box.replaceChildren(el('p', {}, r.body.imported + ' contacts imported, ' + r.body.failed.length + ' failed'));
    if (r.body.failed.length) {
      const t = el('table', { id: 'contact-import-failed' });
      table(t, [['Row', (x) => x.row], ['Name', (x) => x.name], ['Reason', (x) => x.reason]], r.body.failed);
      box.append(t);
    }
    box.hidden = false;
    loadContacts().catch(() => {});
  });

  function showReload(res) {
    const box = $('#reload-result');
    box.replaceChildren();
    if (!res) { box.hidden = true; return; }
    box.setAttribute('data-ok', res.ok ? 'true' : 'false');
    box.append(el('h3', {}, res.ok ? 'Last reload applied' : 'Last reload failed: the running config is kept'),
      el('p', { class: 'muted' }, when(res.time) + ' (' + (res.trigger || '') + ')'));
    if (res.error) box.append(el('p', { class: 'error reload-error' }, res.error));
    const list = (title, xs) => { if (xs && xs.length) box.append(el('p', {}, title + ': ' + xs.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(', '))); };
    list('Applied', res.applied);
    list('Needs a restart', res.needs_restart);
    list('Notes', res.notes);
    box.hidden = false;
  }

  async function loadConfig() {
    const c = await get('/api/v1/config');
    $('#config-file').textContent = c.file ? 'from ' + c.file + ', running since ' + when(c.started) : '';
    $('#config-view').textContent = JSON.stringify(c.config, null, 2);
    showReload(c.last_reload);
  }
  $('#reload-btn').addEventListener('click', async () => {
    const btn = $('#reload-btn');
    btn.disabled = true;
    try {
      const r = await api('POST', '/api/v1/reload');
      if (r.status === 200) showReload(r.body);
      else showReload({ ok: false, error: problemText(r), time: new Date().toISOString(), trigger: 'api' });
      const c = await get('/api/v1/config');
      $('#config-view').textContent = JSON.stringify(c.config, null, 2);
    } catch (e) {
      if (!(e instanceof SessionExpired)) flash(String(e), true);
    } finally {
      btn.disabled = false;
    }
  });

  async function loadAccounts() {
    const [accts, toks] = await Promise.all([get('/api/v1/accounts'), get('/api/v1/tokens')]);
    table($('#accounts-table'), [
      ['Name', (a) => a.name], ['Display name', (a) => a.display_name], ['Role', (a) => a.role],
      ['Device', (a) => a.device], ['Disabled', (a) => (a.disabled ? 'yes' : '')], ['Created', (a) => when(a.created_at)],
    ], accts, (a) => ({ 'data-account': a.name }));
    table($('#tokens-table'), [
      ['Name', (t) => t.name], ['Account', (t) => t.account], ['Role', (t) => t.role], ['Expires', (t) => when(t.expires) || 'never'],
      ['', (t) => el('button', {
        class: 'danger revoke', type: 'button',
        onclick: async () => { if (await act('DELETE', '/api/v1/tokens/' + encodeURIComponent(t.id), undefined, 'token revoked')) loadAccounts(); },
      }, 'Revoke')],
    ], toks, (t) => ({ 'data-token': t.name }));
  }
  $('#token-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { name: $('#token-name').value, role: $('#token-role').value };
    const d = $('#token-expires').value;
    if (d) body.expires = new Date(d + 'T23:59:59Z').toISOString();
    const r = await act('POST', '/api/v1/tokens', body, 'token ' + body.name + ' created');
    if (!r) return;
    $('#token-created-name').textContent = r.body.name;
    $('#token-value').textContent = r.body.value;
    $('#token-created').hidden = false;
    ev.target.reset();
    loadAccounts().catch(() => {});
  });

  boot();
}());
