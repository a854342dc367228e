// Switchboard web phone: logs in to the gateway's /phone/api, registers
// over WSS with JsSIP and handles one call at a time.
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const api = async (path, opts = {}) => {
    const res = await fetch('/phone/api/' + path, {
      credentials: 'same-origin', cache: 'no-store', ...opts,
      headers: { 'X-Switchboard-Phone': '1', ...(opts.headers || {}) },
    });
    let body = null;
    try { body = await res.json(); } catch (_) { /* 204 or not JSON */ }
    return { status: res.status, body };
  };

  let cfg = null;       // the phone's config from the gateway
  let ua = null;        // JsSIP.UA
  let session = null;   // the current JsSIP.RTCSession
  let timer = null;     // call duration ticker
  let ring = null;      // ringtone
  const devices = { mic: localStorage.getItem('sb.mic') || '', speaker: localStorage.getItem('sb.speaker') || '' };

  function setReg(state, text) {
    const el = $('reg-status');
    el.dataset.state = state;
    el.textContent = text || state;
  }

  // --- login ---
  $('login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const err = $('login-error');
    err.hidden = true;
    $('login-btn').disabled = true;
    const username = $('username').value.trim();
    const password = $('password').value;
    try {
      const r = await api('login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username, password }) });
      if (r.status !== 200) {
        err.textContent = r.status === 401 ? 'Wrong username or password.'
          : r.status === 429 ? 'Too many failed logins; wait a minute and try again.'
          : r.status === 403 ? 'This address is blocked after failed logins.'
          : 'Login failed: ' + ((r.body && r.body.detail) || r.status);
        err.hidden = false;
        return;
      }
      cfg = r.body;
      $('password').value = '';
      startPhone(password);
    } catch (e) {
      err.textContent = 'The gateway cannot be reached: ' + e.message;
      err.hidden = false;
    } finally {
      $('login-btn').disabled = false;
    }
  });

  $('logout-btn').addEventListener('click', async () => {
    if (session) session.terminate();
    if (ua) { ua.stop(); ua = null; }
    await api('logout', { method: 'POST' }).catch(() => {});
    cfg = null;
    $('phone-view').hidden = true;
    $('login-view').hidden = false;
    setReg('offline');
  });

  // --- registration ---
  function startPhone(password) {
    $('login-view').hidden = true;
    $('phone-view').hidden = false;
    $('me-name').textContent = cfg.display_name || cfg.username;
    $('me-uri').textContent = cfg.extension ? 'ext. ' + cfg.extension : cfg.uri;
    loadHistory();
    listDevices();
    if (typeof JsSIP === 'undefined') {
      setReg('failed', 'JsSIP missing');
      return;
    }
    if (!cfg.ws_servers || cfg.ws_servers.length === 0) {
      setReg('failed', 'no WSS listener on the gateway');
      return;
    }
    const sockets = cfg.ws_servers.map((u) => new JsSIP.WebSocketInterface(u));
    ua = new JsSIP.UA({
      sockets, uri: cfg.uri, password, authorization_user: cfg.username,
      display_name: cfg.display_name || undefined, register: true, register_expires: 300,
      session_timers: true, user_agent: 'Switchboard web phone (JsSIP ' + JsSIP.version + ')',
    });
    ua.on('connecting', () => setReg('connecting', 'connecting'));
    ua.on('disconnected', () => setReg('failed', 'disconnected'));
    ua.on('registered', () => setReg('registered'));
    ua.on('unregistered', () => setReg('offline', 'not registered'));
    ua.on('registrationFailed', (e) => setReg('failed', 'registration failed: ' + (e.cause || 'error')));
    ua.on('newRTCSession', (e) => onSession(e.session, e.originator));
    ua.start();
  }

  // --- calls ---
  function target(s) {
    s = s.trim();
    if (/^sips?:/i.test(s)) return s;
    if (s.includes('@')) return 'sip:' + s;
    return 'sip:' + s.replace(/[\s().-]/g, '') + '@' + cfg.domain;
  }

  function callOptions() {
    return {
      mediaConstraints: { audio: devices.mic ? { deviceId: { exact: devices.mic } } : true, video: false },
      pcConfig: { iceServers: cfg.ice_servers || [] },
      rtcOfferConstraints: { offerToReceiveAudio: true, offerToReceiveVideo: false },
    };
  }

  async function freshICE() {
    // TURN credentials expire: fetch new ones before each call.
    const r = await api('ice').catch(() => null);
    if (r && r.status === 200 && r.body) cfg.ice_servers = r.body.ice_servers || [];
  }

  $('dial-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const n = $('number').value;
    if (!ua || !n.trim() || session) return;
    $('call-peer').textContent = n.trim();
    showCall('calling', 'Calling…');
    await freshICE();
    if (session) return; // a call came in meanwhile
    try {
      ua.call(target(n), callOptions());
    } catch (e) {
      showCall('ended', 'Call failed: ' + e.message);
    }
  });

  function peerOf(s) {
    const id = s.remote_identity;
    if (!id) return '';
    return id.display_name ? id.display_name + ' (' + id.uri.user + ')' : id.uri.user;
  }

  function onSession(s, originator) {
    if (session) { // one call at a time
      if (originator === 'remote') s.terminate({ status_code: 486, reason_phrase: 'Busy Here' });
      return;
    }
    session = s;
    $('call-peer').textContent = peerOf(s);
    $('call-panel').hidden = false;
    $('call-panel').scrollIntoView({ block: 'nearest' }); // a call shows wherever the page was scrolled
    if (originator === 'remote') {
      showCall('ringing', 'Incoming call…');
      startRing();
    } else {
      showCall('calling', 'Calling…');
    }
    s.on('progress', () => { if (s.direction === 'outgoing') showCall('calling', 'Ringing…'); });
    s.on('accepted', () => { stopRing(); showCall('active', 'In call'); startTimer(); });
    s.on('confirmed', () => showCall('active', s.isOnHold().local ? 'On hold' : 'In call'));
    s.on('hold', (e) => showCall('held', e.originator === 'local' ? 'On hold' : 'Held by the other party'));
    s.on('unhold', () => showCall('active', 'In call'));
    s.on('muted', () => $('mute-btn').setAttribute('aria-pressed', 'true'));
    s.on('unmuted', () => $('mute-btn').setAttribute('aria-pressed', 'false'));
    s.on('ended', (e) => endCall('Call ended' + (e.originator === 'remote' ? ' by the other party' : '')));
    s.on('failed', (e) => endCall(failText(e)));
    s.on('peerconnection', (e) => attachAudio(e.peerconnection));
    if (s.connection) attachAudio(s.connection);
  }

  function failText(e) {
    if (e.originator === 'local' && e.cause === JsSIP.C.causes.REJECTED) return 'Declined';
    if (e.originator === 'local' && e.cause === JsSIP.C.causes.CANCELED) return 'Cancelled';
    if (e.originator === 'remote' && e.cause === JsSIP.C.causes.CANCELED) {
      // Another of the user's phones answered: the CANCEL says so with
      // Reason: SIP;cause=200 (RFC 3326; the gateway's forking).
      const reason = (e.message && e.message.getHeader && e.message.getHeader('Reason')) || '';
      return /^\s*SIP\s*;(?:.*;)?\s*cause\s*=\s*200\b/i.test(reason) ? 'Answered elsewhere' : 'Missed call';
    }
    const m = e.message && e.message.status_code ? ' (' + e.message.status_code + ' ' + e.message.reason_phrase + ')' : '';
    return 'Call failed: ' + e.cause + m;
  }

  function attachAudio(pc) {
    watchICE(pc);
    pc.addEventListener('track', (e) => {
      const a = $('remote-audio');
      a.srcObject = e.streams[0] || new MediaStream([e.track]);
      if (devices.speaker && a.setSinkId) a.setSinkId(devices.speaker).catch(() => {});
      a.play().catch(() => {});
    });
  }

  // --- ICE restart (RFC 8445 §9, RFC 8839 §4.4.1.1.1) ---
  // When the network changes (Wi-Fi to mobile, a new address, a NAT
  // binding lost) the browser's ICE goes 'disconnected' and then
  // 'failed'. The page restarts ICE: new credentials and candidates in a
  // re-INVITE (JsSIP renegotiate with iceRestart), which the gateway
  // answers with its own new credentials; the DTLS association and the
  // call stay. 'disconnected' often heals by itself, so it gets a grace
  // period first; a restart that could not be sent (another re-INVITE in
  // progress) is tried again while ICE stays down.
  const iceGraceMs = 2000;   // 'disconnected' this long: restart
  const iceRetryMs = 5000;   // between restarts while ICE stays down
  const iceMaxRestarts = 5;  // per outage
  let iceTimer = null;
  let iceRestarts = 0;       // restarts sent in this outage
  let iceRestartsTotal = 0;  // in this call, for support and tests

  function watchICE(pc) {
    pc.addEventListener('iceconnectionstatechange', () => {
      const st = pc.iceConnectionState;
      if (st === 'connected' || st === 'completed') {
        clearTimeout(iceTimer);
        iceTimer = null;
        iceRestarts = 0;
        return;
      }
      if ((st === 'disconnected' || st === 'failed') && !iceTimer) {
        iceTimer = setTimeout(() => iceDown(pc), st === 'failed' ? 0 : iceGraceMs);
      }
    });
  }

  function iceDown(pc) {
    iceTimer = null;
    if (!session || session.connection !== pc) return;
    const st = pc.iceConnectionState;
    if (st !== 'disconnected' && st !== 'failed') return;
    if (iceRestarts >= iceMaxRestarts) return;
    if (restartICE('ICE ' + st)) iceRestarts++;
    iceTimer = setTimeout(() => iceDown(pc), iceRetryMs);
  }

  // restartICE offers new ICE credentials on the current call; false when
  // no re-INVITE can be sent now (no call, or one in progress).
  function restartICE(why) {
    if (!session || !session.connection || !session.isEstablished()) return false;
    const pc = session.connection;
    if (pc.restartIce) pc.restartIce(); // new ufrag/pwd in the next offer
    const sent = session.renegotiate({ rtcOfferConstraints: { iceRestart: true, offerToReceiveAudio: true } });
    if (sent) {
      iceRestartsTotal++;
      console.info('ICE restart (' + why + ')');
    }
    return sent;
  }

  function showCall(state, text) {
    const p = $('call-panel');
    p.hidden = false;
    p.dataset.state = state;
    $('call-state').textContent = text;
    const live = state === 'active' || state === 'held';
    $('answer-btn').hidden = state !== 'ringing';
    $('hold-btn').hidden = !live;
    $('mute-btn').hidden = !live;
    $('transfer-btn').hidden = !live;
    $('hangup-btn').hidden = state === 'ended' || state === 'failed';
    $('hold-btn').textContent = state === 'held' && session && session.isOnHold().local ? 'Resume' : 'Hold';
    if (!live) {
      $('transfer-form').hidden = true;
      $('hold-btn').disabled = false;
    }
  }

  function endCall(text) {
    stopRing();
    clearTimeout(iceTimer);
    iceTimer = null;
    iceRestarts = 0;
    iceRestartsTotal = 0;
    clearInterval(timer);
    timer = null;
    session = null;
    $('remote-audio').srcObject = null;
    showCall('ended', text);
    $('mute-btn').setAttribute('aria-pressed', 'false');
    // The panel stays with the outcome until the next call: hiding it
    // later would move the keypad under a finger (or a click) on its way.
    setTimeout(loadHistory, 1000); // the record is written a moment after the call ends
  }

  function startTimer() {
    const t0 = Date.now();
    clearInterval(timer);
    timer = setInterval(() => {
      const s = Math.floor((Date.now() - t0) / 1000);
      $('call-timer').textContent = Math.floor(s / 60) + ':' + String(s % 60).padStart(2, '0');
    }, 1000);
  }

  $('answer-btn').addEventListener('click', async () => {
    if (!session) return;
    stopRing();
    await freshICE();
    session.answer(callOptions());
  });
  $('hangup-btn').addEventListener('click', () => {
    if (!session) return;
    if (session.direction === 'incoming' && !session.isEstablished()) session.terminate({ status_code: 486, reason_phrase: 'Busy Here' });
    else session.terminate();
  });
  $('hold-btn').addEventListener('click', () => {
    if (!session) return;
    // One re-INVITE at a time (RFC 3261 §14.1): the button waits for it.
    const btn = $('hold-btn');
    const done = () => { btn.disabled = false; };
    btn.disabled = true;
    const sent = session.isOnHold().local ? session.unhold({}, done) : session.hold({}, done);
    if (!sent) btn.disabled = false;
  });
  $('mute-btn').addEventListener('click', () => {
    if (!session) return;
    if (session.isMuted().audio) session.unmute({ audio: true }); else session.mute({ audio: true });
  });
  $('transfer-btn').addEventListener('click', () => {
    const f = $('transfer-form');
    f.hidden = !f.hidden;
    if (!f.hidden) $('transfer-target').focus();
  });
  $('transfer-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const t = $('transfer-target').value;
    if (!session || !t.trim()) return;
    // Blind transfer: REFER (RFC 3515); the gateway calls the target.
    const s = session;
    const refer = s.refer(target(t));
    showCall('active', 'Transferring…');
    // 202 Accepted: the gateway calls the target; a blind transferor may
    // hang up at once (RFC 5589 §6), the transferee keeps ringing there.
    refer.on('requestSucceeded', () => s.terminate());
    refer.on('requestFailed', (e) => {
      if (session === s) showCall('active', 'Transfer failed' + (e.response ? ' (' + e.response.status_code + ')' : ''));
    });
  });

  // Keypad: digits go to the number field, or as DTMF during a call.
  $('keypad').addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-key]');
    if (!b) return;
    const k = b.dataset.key;
    if (session && session.isEstablished()) {
      session.sendDTMF(k, { duration: 160, interToneGap: 80 });
      beep(k);
    } else {
      $('number').value += k;
    }
  });

  // --- sounds (generated: nothing is fetched) ---
  let actx = null;
  function audioCtx() {
    if (!actx) actx = new (window.AudioContext || window.webkitAudioContext)();
    return actx;
  }
  const dtmfFreq = { 1: [697, 1209], 2: [697, 1336], 3: [697, 1477], 4: [770, 1209], 5: [770, 1336], 6: [770, 1477],
    7: [852, 1209], 8: [852, 1336], 9: [852, 1477], '*': [941, 1209], 0: [941, 1336], '#': [941, 1477] };
  function tone(freqs, seconds, gain) {
    try {
      const c = audioCtx();
      const g = c.createGain();
      g.gain.value = gain;
      g.connect(c.destination);
      for (const f of freqs) {
        const o = c.createOscillator();
        o.frequency.value = f;
        o.connect(g);
        o.start();
        o.stop(c.currentTime + seconds);
      }
    } catch (_) { /* no audio output */ }
  }
  function beep(k) { tone(dtmfFreq[k] || [], 0.12, 0.05); }
  function startRing() {
    stopRing();
    tone([440, 480], 1.5, 0.08);
    ring = setInterval(() => tone([440, 480], 1.5, 0.08), 4000);
  }
  function stopRing() { clearInterval(ring); ring = null; }

  // --- devices ---
  async function listDevices() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return;
    const list = await navigator.mediaDevices.enumerateDevices().catch(() => []);
    fill($('mic-select'), list.filter((d) => d.kind === 'audioinput'), devices.mic);
    const outs = list.filter((d) => d.kind === 'audiooutput');
    fill($('speaker-select'), outs, devices.speaker);
    $('speaker-select').disabled = !('setSinkId' in HTMLMediaElement.prototype);
  }
  function fill(sel, items, chosen) {
    sel.length = 1;
    items.forEach((d, i) => {
      if (!d.deviceId || d.deviceId === 'default') return;
      const o = new Option(d.label || 'Device ' + (i + 1), d.deviceId);
      o.selected = d.deviceId === chosen;
      sel.add(o);
    });
  }
  $('mic-select').addEventListener('change', (e) => {
    devices.mic = e.target.value;
    localStorage.setItem('sb.mic', devices.mic);
    if (session && session.isEstablished() && session.connection) switchMic();
  });
  $('speaker-select').addEventListener('change', (e) => {
    devices.speaker = e.target.value;
    localStorage.setItem('sb.speaker', devices.speaker);
    const a = $('remote-audio');
    if (a.setSinkId) a.setSinkId(devices.speaker).catch(() => {});
  });
  async function switchMic() {
    // Replace the track on the sender: no renegotiation needed.
    const stream = await navigator.mediaDevices.getUserMedia(callOptions().mediaConstraints).catch(() => null);
    if (!stream || !session) return;
    const sender = session.connection.getSenders().find((s) => s.track && s.track.kind === 'audio');
    if (sender) {
      const old = sender.track;
      await sender.replaceTrack(stream.getAudioTracks()[0]);
      if (old) old.stop();
    }
  }
  if (navigator.mediaDevices) navigator.mediaDevices.addEventListener('devicechange', listDevices);
  // Browsers name devices only once the page may use the microphone: ask
  // when the user opens the device list.
  $('devices').addEventListener('toggle', async () => {
    if (!$('devices').open || !navigator.mediaDevices) return;
    const list = await navigator.mediaDevices.enumerateDevices().catch(() => []);
    if (!list.some((d) => d.kind === 'audioinput' && d.label)) {
      const s = await navigator.mediaDevices.getUserMedia({ audio: true }).catch(() => null);
      if (s) s.getTracks().forEach((t) => t.stop());
    }
    listDevices();
  });

  // --- history ---
  $('history-refresh').addEventListener('click', loadHistory);
  async function loadHistory() {
    const r = await api('calls?limit=30').catch(() => null);
    if (!r || r.status !== 200) return;
    const ol = $('history');
    ol.textContent = '';
    const mine = [cfg.username, cfg.extension].filter(Boolean);
    for (const c of r.body.calls) {
      const outgoing = mine.includes(c.caller);
      const other = outgoing ? (c.callee || c.target) : c.caller;
      const answered = c.status === 200;
      const li = document.createElement('li');
      if (!outgoing && !answered) li.className = 'missed';
      li.dataset.number = other;
      const dir = document.createElement('span');
      dir.className = 'dir';
      dir.textContent = outgoing ? '↗' : (answered ? '↙' : '✕');
      dir.title = outgoing ? 'outgoing' : (answered ? 'incoming' : 'missed');
      const who = document.createElement('span');
      who.className = 'who';
      who.textContent = other;
      const when = document.createElement('span');
      when.className = 'when';
      when.textContent = new Date(c.setup).toLocaleString();
      const what = document.createElement('span');
      what.className = 'what';
      what.textContent = answered ? fmtDur(c.duration_s) : (c.cause || String(c.status));
      li.append(dir, who, when, what);
      ol.append(li);
    }
    $('history-empty').hidden = r.body.calls.length > 0;
  }
  $('history').addEventListener('click', (ev) => {
    const li = ev.target.closest('li');
    if (li) $('number').value = li.dataset.number;
  });
  function fmtDur(s) {
    s = Math.round(s || 0);
    return Math.floor(s / 60) + ':' + String(s % 60).padStart(2, '0');
  }

  // A network that comes back (or a new one) restarts ICE at once rather
  // than waiting for the browser's ICE timers.
  window.addEventListener('online', () => restartICE('network online'));

  window.addEventListener('beforeunload', () => { if (ua) ua.stop(); });

  // For support and tests: the current call's RTP counters, as the
  // browser's WebRTC stats report them (try switchboardPhone.stats() in
  // the console during a call).
  window.switchboardPhone = {
    async stats() {
      const out = { inbound: 0, outbound: 0, codec: '', remoteInbound: 0, remoteOutbound: 0,
        rttMs: -1, iceState: '', iceRestarts: iceRestartsTotal, localUfrag: '', remoteUfrag: '' };
      if (!session || !session.connection) return out;
      const pc = session.connection;
      out.iceState = pc.iceConnectionState;
      const ufrag = (d) => ((d && d.sdp.match(/a=ice-ufrag:(\S+)/)) || [])[1] || '';
      out.localUfrag = ufrag(pc.currentLocalDescription);
      out.remoteUfrag = ufrag(pc.currentRemoteDescription);
      const report = await pc.getStats();
      report.forEach((r) => {
        // the round trip the browser measured from the gateway's reception
        // reports about its stream (LSR/DLSR, RFC 3550 §6.4.1)
        if (r.type === 'remote-inbound-rtp' && r.kind === 'audio' && r.roundTripTime !== undefined) out.rttMs = r.roundTripTime * 1000;
        if (r.type === 'inbound-rtp' && r.kind === 'audio') out.inbound += r.packetsReceived || 0;
        if (r.type === 'outbound-rtp' && r.kind === 'audio') out.outbound += r.packetsSent || 0;
        if (r.type === 'codec' && !out.codec) out.codec = r.mimeType;
        // the gateway's RTCP reports (RFC 3550 §6.4): its receiver's view of our stream, its sender's counts
        if (r.type === 'remote-inbound-rtp' && r.kind === 'audio') out.remoteInbound += 1;
        if (r.type === 'remote-outbound-rtp' && r.kind === 'audio') out.remoteOutbound += r.packetsSent || 0;
      });
      return out;
    },
    // restartIce restarts ICE on the current call now, as a network
    // change does; false when no re-INVITE can be sent now.
    restartIce() { return restartICE('asked'); },
  };

  // A provisioning link or QR code (/phone?user=NAME) names the user.
  const linked = new URLSearchParams(location.search).get('user');
  if (linked && !$('username').value) $('username').value = linked.slice(0, 128);

  // After a reload the session cookie may still be good, but the password
  // (which SIP registration needs) is gone: offer the username back.
  api('config').then((r) => {
    if (r.status === 200 && r.body && !$('username').value) {
      $('username').value = r.body.username;
      $('password').focus();
    }
  }).catch(() => {});
})();
