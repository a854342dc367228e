// Switchboard operator console: the PBX queues panel (ACD, hunt and
// operator groups). The queues come with the devices on the event stream
// (GET /api/v1/devices/queues has the same data): a device whose
// `queue` is set is a queue, its `queue.calls` the calls waiting there,
// next first. The panel lists each queue with its count, and each
// waiting call with its position, caller and waiting time (ticking);
// "Take" answers the call at the operator's device: deflect the call out
// of the queue to the operator (POST /api/v1/calls/{id}/deflect), or
// where the source cannot deflect (501), a directed pickup from the
// queue device (POST /api/v1/devices/{mine}/pickup).
'use strict';
window.switchboardQueuePanel = (ctx) => {
  const { $, api, banner, button, elapsed } = ctx;
  const ids = new Set(); // devices that are queues, in the console's order when rendered
  let taking = '';

  // sync folds devices (ids touched, or null: all of them) into the
  // panel and repaints it when a queue changed.
  function sync(devices, order, touched) {
    let changed = false;
    if (touched === null) {
      ids.clear();
      for (const id of order) if (devices.get(id) && devices.get(id).queue) ids.add(id);
      changed = true;
    } else {
      for (const id of touched) {
        const d = devices.get(id);
        const is = !!(d && d.queue);
        if (is || ids.has(id)) changed = true;
        if (is) ids.add(id); else ids.delete(id);
      }
    }
    if (changed) render(devices, order);
  }

  function callerText(c) {
    const num = c.calling || 'unknown';
    return c.calling_name ? `${c.calling_name} (${num})` : num;
  }

  function render(devices, order) {
    const list = order.filter((id) => ids.has(id)).map((id) => devices.get(id)).filter(Boolean);
    const section = $('queues-section');
    section.hidden = list.length === 0;
    let total = 0;
    $('queues').replaceChildren(...list.map((d) => {
      const q = d.queue;
      const calls = q.calls || [];
      total += q.length || calls.length;
      const li = document.createElement('li');
      li.className = 'queue';
      li.dataset.id = d.id;
      li.dataset.length = String(q.length);
      li.classList.toggle('stale', !!d.stale);
      const head = document.createElement('div');
      head.className = 'q-head';
      const name = document.createElement('span');
      name.className = 'q-name';
      const label = ctx.name(d.id) || d.name;
      name.textContent = label || d.device;
      if (label) {
        const num = document.createElement('small');
        num.className = 'muted';
        num.textContent = ` ${d.device}`;
        name.append(num);
      }
      name.title = d.id;
      const count = document.createElement('span');
      count.className = 'count q-count';
      count.textContent = q.pbx_length && q.pbx_length !== q.length ? `${q.length} waiting (PBX ${q.pbx_length})` : `${q.length} waiting`;
      head.append(name, count);
      if (calls.length) {
        const oldest = document.createElement('span');
        oldest.className = 'muted q-oldest';
        oldest.textContent = 'longest ';
        const t = document.createElement('span');
        t.className = 'elapsed';
        t.dataset.since = calls.reduce((a, c) => (c.since < a ? c.since : a), calls[0].since);
        t.textContent = elapsed(t.dataset.since);
        oldest.append(t);
        head.append(oldest);
      }
      const ol = document.createElement('ol');
      ol.className = 'q-calls';
      ol.setAttribute('aria-label', `Calls waiting at ${name.textContent}`);
      for (const c of calls) {
        const w = document.createElement('li');
        w.className = 'q-call';
        w.dataset.call = c.call_id;
        w.dataset.position = String(c.position);
        const pos = document.createElement('span');
        pos.className = 'q-pos';
        pos.textContent = `${c.position}.`;
        const who = document.createElement('span');
        who.className = 'q-who';
        who.textContent = callerText(c);
        if (c.party_type) who.title = c.party_type;
        const t = document.createElement('span');
        t.className = 'elapsed';
        t.dataset.since = c.since;
        t.textContent = elapsed(c.since);
        const b = button('Take', 'primary', () => take(d, c), c.position === 1 && d.id === firstQueue() ? 'q' : '');
        b.disabled = !!d.stale || taking === c.call_id;
        b.setAttribute('aria-label', `Take call ${c.position} from ${callerText(c)}`);
        w.append(pos, who, t, b);
        ol.append(w);
      }
      li.append(head, ol);
      return li;
    }));
    $('queues-count').textContent = String(total);
  }

  // firstQueue is the queue whose next call the "q" key takes: the
  // longest-waiting first call of any queue.
  function firstQueue() {
    let best = '';
    let since = '';
    for (const id of ids) {
      const d = ctx.device(id);
      const c = d && d.queue && d.queue.calls && d.queue.calls[0];
      if (c && !d.stale && (!since || c.since < since)) { best = id; since = c.since; }
    }
    return best;
  }

  async function take(d, c) {
    if (!ctx.needDevice() || taking) return;
    const me = ctx.myDevice();
    taking = c.call_id;
    try {
      await api('POST', `/api/v1/calls/${encodeURIComponent(c.call_id)}/deflect`, { device: d.id, to: ctx.lampNumber(me) });
      banner(`Taking ${callerText(c)} from ${d.device}`, true);
    } catch (e) {
      if (e.status !== 501) {
        banner(`Take failed: ${e.message}`);
      } else {
        // The source cannot deflect: pick the queue's call up instead.
        try {
          await api('POST', `/api/v1/devices/${encodeURIComponent(me)}/pickup`, { from: d.device });
          banner(`Picked up from ${d.device}`, true);
        } catch (e2) {
          banner(`Take failed: ${e2.message}`);
        }
      }
    } finally {
      taking = '';
    }
  }

  // takeNext takes the call that waited longest at the head of a queue.
  function takeNext() {
    const id = firstQueue();
    const d = id && ctx.device(id);
    if (!d) return banner('No call is waiting in a queue');
    take(d, d.queue.calls[0]);
  }

  function tick() {
    for (const t of $('queues').querySelectorAll('.elapsed')) t.textContent = elapsed(t.dataset.since);
  }

  function clear() {
    ids.clear();
    $('queues').replaceChildren();
    $('queues-section').hidden = true;
  }

  return { sync, tick, takeNext, clear };
};
