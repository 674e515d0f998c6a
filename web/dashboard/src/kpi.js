// The KPI dashboard (/dashboards/kpi): sign in with a bearer token, then
// draw the shop's six KPIs of the service manual for the month with their
// verdicts, their daily trend over the last 30 days against the targets,
// and the SLA breach rate of every clock. Every figure comes from the
// insights service through the gateway's REST API; nothing is computed
// here but the formatting.
import {
  Chart, LineController, LineElement, PointElement, BarController, BarElement,
  LinearScale, CategoryScale, Legend, Tooltip,
} from 'chart.js';

Chart.register(LineController, LineElement, PointElement, BarController, BarElement,
  LinearScale, CategoryScale, Legend, Tooltip);

const STORE = 'kefu.dashboard';
const TREND_DAYS = 30;

// The six KPIs: where each sits in a KpiRow and how to show it.
const KPIS = [
  {
    key: 'first_response_time', title: '首次响应时间', sub: 'First response time (mean)',
    figure: (r) => {
      const f = r.first_response_time;
      return {
        value: Number(f.answered) > 0 ? f.mean_seconds : null, target: f.target_seconds,
        comparison: f.comparison, verdict: f.verdict,
        fraction: `${secs(f.total_seconds)} / ${f.answered} answered`,
        extra: Number(f.answered) > 0
          ? `p90 ${secs(f.p90_seconds)} · ${pct(f.within_target.value)} within ${secs(f.target_seconds)}` : '',
      };
    },
    show: secs, axis: 's',
  },
  { key: 'first_response_rate', title: '首次响应率', sub: 'First response rate', figure: ratio('first_response_rate'), show: pct, axis: '%' },
  { key: 'first_contact_resolution', title: '问题一次性解决率', sub: 'First-contact resolution', figure: ratio('first_contact_resolution'), show: pct, axis: '%' },
  {
    key: 'satisfaction', title: '客户满意度', sub: 'Satisfaction (CSAT 1–5)',
    figure: (r) => {
      const s = r.satisfaction;
      return {
        value: Number(s.rated) > 0 ? s.mean_score : null, target: s.target,
        comparison: s.comparison, verdict: s.verdict,
        fraction: `${s.score_sum} / ${s.rated} rated`,
        extra: `${pct(s.rated_share.value)} of closed chats rated (${s.rated_share.numerator} / ${s.rated_share.denominator})`,
      };
    },
    show: (v) => (v == null ? '—' : v.toFixed(2)), axis: '',
  },
  { key: 'complaint_rate', title: '投诉率', sub: 'Complaint rate', figure: ratio('complaint_rate'), show: pct, axis: '%' },
  { key: 'conversion', title: '咨询转订单转化率', sub: 'Consultation-to-order conversion', figure: ratio('conversion'), show: pct, axis: '%' },
];

function ratio(field) {
  return (r) => {
    const x = r[field];
    return {
      value: Number(x.denominator) > 0 ? x.value : null, target: x.target,
      comparison: x.comparison, verdict: x.verdict,
      fraction: `${x.numerator} / ${x.denominator}`, extra: '',
    };
  };
}

function pct(v) { return v == null ? '—' : `${(v * 100).toFixed(1)} %`; }

function secs(v) {
  if (v == null) return '—';
  const n = Number(v);
  if (n < 90) return `${n.toFixed(1)} s`;
  return `${Math.floor(n / 60)} min ${Math.round(n % 60)} s`;
}

const VERDICT = {
  VERDICT_MET: ['met', '达标 met'],
  VERDICT_MISSED: ['missed', '未达标 missed'],
  VERDICT_NO_DATA: ['nodata', '无数据 no data'],
};

const $ = (sel) => document.querySelector(sel);

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('data-')) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) e.append(c);
  return e;
}

// ---- signing in --------------------------------------------------------

function credentials() {
  // A link may carry them in its fragment (never sent to a server); they
  // move to this tab's session storage and out of the address bar.
  const h = new URLSearchParams(location.hash.slice(1));
  if (h.get('token')) {
    sessionStorage.setItem(STORE, JSON.stringify({ token: h.get('token'), shop: h.get('shop') || 'shop_demo' }));
    history.replaceState(null, '', location.pathname + location.search);
  }
  try { return JSON.parse(sessionStorage.getItem(STORE)); } catch { return null; }
}

function showSignIn(message) {
  document.body.dataset.state = 'signin';
  $('#board').hidden = true;
  $('#signin').hidden = false;
  $('#signin-error').textContent = message || '';
  const c = credentials();
  if (c) $('#shop').value = c.shop;
}

class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.status || '';
  }
}

async function api(path, token) {
  const res = await fetch(path, { headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' } });
  let body = null;
  try { body = await res.json(); } catch { /* not JSON */ }
  if (!res.ok) throw new ApiError(res.status, body);
  return body;
}

// ---- drawing --------------------------------------------------------------

const charts = [];

function card(kpi, row, range) {
  const f = kpi.figure(row);
  const [cls, label] = VERDICT[f.verdict] || ['nodata', f.verdict];
  const cmp = f.comparison === 'COMPARISON_AT_MOST' ? '≤' : '≥';
  const canvas = el('canvas', { 'data-chart': kpi.key });
  const section = el('section', { class: `kpi ${cls}`, 'data-kpi': kpi.key, 'data-verdict': f.verdict },
    el('h2', {}, kpi.title, el('small', {}, kpi.sub)),
    el('div', { class: 'value' }, kpi.show(f.value)),
    el('div', { class: 'verdict' }, label),
    el('div', { class: 'target' }, `target ${cmp} ${kpi.show(f.target)}`),
    el('div', { class: 'fraction', title: 'numerator / denominator' }, f.fraction),
    el('div', { class: 'extra' }, f.extra),
    el('div', { class: 'chart' }, canvas));
  section.title = `${range.first_day} – ${range.last_day}`;
  return { section, canvas, target: f.target };
}

function trendChart(kpi, canvas, days, target) {
  const labels = days.map((d) => d.day.slice(5));
  const scale = kpi.axis === '%' ? 100 : 1;
  const values = days.map((d) => {
    const v = kpi.figure(d.shop).value;
    return v == null ? null : v * scale;
  });
  canvas.dataset.points = String(values.filter((v) => v != null).length);
  charts.push(new Chart(canvas, {
    type: 'line',
    data: {
      labels,
      datasets: [
        { label: 'daily', data: values, borderColor: '#1f6feb', backgroundColor: '#1f6feb', pointRadius: 2, spanGaps: false },
        { label: 'target', data: days.map(() => target * scale), borderColor: '#d1242f', borderDash: [6, 4], pointRadius: 0, borderWidth: 1 },
      ],
    },
    options: {
      animation: false, responsive: true, maintainAspectRatio: false,
      plugins: { legend: { display: false } },
      scales: { x: { ticks: { maxTicksLimit: 6 } }, y: { beginAtZero: true, title: { display: !!kpi.axis, text: kpi.axis } } },
    },
  }));
}

function slaSection(sla) {
  const rows = (sla.rows || []).filter((r) => r.scope === 'ROW_SCOPE_SHOP');
  const canvas = el('canvas', { 'data-chart': 'sla' });
  canvas.dataset.points = String(rows.length);
  const table = el('table', {},
    el('thead', {}, el('tr', {}, ...['clock', 'due', 'met', 'breached', 'pending', 'breach rate', 'mean lateness']
      .map((h) => el('th', {}, h)))));
  const body = el('tbody');
  for (const r of rows) {
    body.append(el('tr', { 'data-clock': r.clock },
      el('td', {}, r.clock), el('td', {}, r.due), el('td', {}, r.met), el('td', {}, r.breached),
      el('td', {}, r.pending), el('td', {}, Number(r.breach_rate.denominator) > 0 ? pct(r.breach_rate.value) : '—'),
      el('td', {}, Number(r.lateness_samples) > 0 ? secs(r.mean_lateness_seconds) : '—')));
  }
  if (!rows.length) body.append(el('tr', {}, el('td', { colSpan: 7 }, 'No clock fell due this month.')));
  table.append(body);
  const box = $('#sla');
  box.replaceChildren(el('h2', {}, 'SLA 超时合规 — breach rate by clock, this month'),
    el('div', { class: 'chart wide' }, canvas), table);
  charts.push(new Chart(canvas, {
    type: 'bar',
    data: {
      labels: rows.map((r) => r.clock),
      datasets: [
        { label: 'breach rate %', data: rows.map((r) => r.breach_rate.value * 100), backgroundColor: '#d1242f' },
        { label: 'met', data: rows.map((r) => Number(r.met)), backgroundColor: '#2da44e', yAxisID: 'n' },
        { label: 'breached', data: rows.map((r) => Number(r.breached)), backgroundColor: '#bf8700', yAxisID: 'n' },
      ],
    },
    options: {
      animation: false, responsive: true, maintainAspectRatio: false,
      scales: {
        y: { beginAtZero: true, max: 100, title: { display: true, text: 'breach rate %' } },
        n: { beginAtZero: true, position: 'right', grid: { drawOnChartArea: false }, title: { display: true, text: 'clocks' } },
      },
    },
  }));
}

async function load() {
  const c = credentials();
  if (!c || !c.token) { showSignIn(); return; }
  document.body.dataset.state = 'loading';
  $('#signin').hidden = true;
  $('#board').hidden = false;
  $('#status').textContent = 'Loading…';
  const shop = encodeURIComponent(c.shop);
  try {
    const [month, trend, sla] = await Promise.all([
      api(`/v1/shops/${shop}/kpi-report?period=PERIOD_MONTH`, c.token),
      api(`/v1/shops/${shop}/kpi-trend?days=${TREND_DAYS}`, c.token),
      api(`/v1/shops/${shop}/sla-report?period=PERIOD_MONTH`, c.token),
    ]);
    charts.splice(0).forEach((ch) => ch.destroy());
    const row = (month.rows || []).find((r) => r.scope === 'ROW_SCOPE_SHOP') || (month.rows || [])[0];
    if (!row) throw new Error('the report has no row you may see');
    $('#title').textContent = `${c.shop} — KPI ${month.range.first_day.slice(0, 7)}`;
    const who = row.scope === 'ROW_SCOPE_SHOP' ? 'the shop' : `agent ${row.agent_id}`;
    $('#meta').textContent = `${who} · ${row.consultations} consultations this month · policy ${month.definitions.policy_version}` +
      ` · ${month.definitions.time_zone} · trend ${trend.days[0].day} – ${trend.days[trend.days.length - 1].day}` +
      ` · events behind ${month.lag ? month.lag.events_behind : '?'}`;
    const grid = $('#kpis');
    grid.replaceChildren();
    for (const kpi of KPIS) {
      const { section, canvas, target } = card(kpi, row, month.range);
      grid.append(section);
      trendChart(kpi, canvas, trend.days, target);
    }
    slaSection(sla);
    $('#status').textContent = `Updated ${new Date().toLocaleTimeString()}`;
    document.body.dataset.state = 'ready';
  } catch (err) {
    if (err.status === 401) { sessionStorage.removeItem(STORE); showSignIn('The token was refused: sign in again.'); return; }
    document.body.dataset.state = 'error';
    $('#status').textContent = err.status === 403
      ? `Not allowed: ${err.message} (the trend and SLA board are for supervisors and managers).`
      : `Could not load the reports: ${err.message}`;
  }
}

function start() {
  $('#signin').addEventListener('submit', (e) => {
    e.preventDefault();
    const token = $('#token').value.trim();
    const shop = $('#shop').value.trim() || 'shop_demo';
    if (!token) { $('#signin-error').textContent = 'Paste a bearer token.'; return; }
    sessionStorage.setItem(STORE, JSON.stringify({ token, shop }));
    $('#token').value = '';
    load();
  });
  $('#signout').addEventListener('click', () => {
    sessionStorage.removeItem(STORE);
    charts.splice(0).forEach((ch) => ch.destroy());
    showSignIn();
  });
  $('#refresh').addEventListener('click', load);
  load();
}

start();
