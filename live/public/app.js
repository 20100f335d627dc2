// The live page: one dashboard at a time, every panel polled at the dashboard's refresh interval
// from /api/dashboards/<uid>/panels/<id> (the same SQL as the Grafana JSON). Time series and bar
// charts are drawn by ECharts (global `echarts`, loaded by index.html); stats and tables are HTML.
// Every panel element carries data-panel-id, data-state ("loading" | "ok" | "error") and
// data-rows, and <body> counts completed refreshes in data-refresh-count, for the browser test.

const echarts = /** @type {any} */ (globalThis).echarts;

const RANGE_MS = { 'now-5m': 300_000, 'now-15m': 900_000, 'now-30m': 1_800_000, 'now-1h': 3_600_000, 'now-6h': 21_600_000, 'now-24h': 86_400_000 };
const COLORS = { green: '#73bf69', red: '#f2495c', orange: '#ff9830', blue: '#5794f2', purple: '#b877d9', yellow: '#fade2a' };
const PALETTE = ['#7eb26d', '#eab839', '#6ed0e0', '#ef843c', '#e24d42', '#1f78c1', '#ba43a9', '#705da0', '#508642', '#cca300', '#447ebc', '#c15c17'];
const NUMERIC = /^(?:Nullable\()?(?:U?Int\d+|Float\d+|Decimal.*)\)?$/;
const DATE_TIME = /^(?:Nullable\()?DateTime\b/;

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const dashboardSelect = /** @type {HTMLSelectElement} */ ($('dashboard'));
const rangeSelect = /** @type {HTMLSelectElement} */ ($('range'));

/** @type {{ dashboard: any, range: string, timer: number | undefined, generation: number, charts: Map<number, any>, refreshes: number }} */
const state = { dashboard: undefined, range: 'now-30m', timer: undefined, generation: 0, charts: new Map(), refreshes: 0 };

// ---------------------------------------------------------------------------------------------
// Formatting

const isNumeric = (column) => NUMERIC.test(column.type);
const isDateTime = (column) => DATE_TIME.test(column.type);

function unitOf(panel, columnName) {
  return panel.columns?.[columnName]?.unit ?? panel.unit ?? 'none';
}
function decimalsOf(panel, columnName) {
  return panel.columns?.[columnName]?.decimals ?? panel.decimals;
}

/** A value as Grafana would show it for `unit` (short, s, ms, percent, currencyUSD, none). */
function formatValue(value, unit, decimals) {
  if (value === null || value === undefined || (typeof value === 'number' && Number.isNaN(value))) return '–';
  if (typeof value !== 'number') return String(value);
  const fixed = (v, d) => v.toLocaleString('en-US', { minimumFractionDigits: d ?? 0, maximumFractionDigits: d ?? 2 });
  switch (unit) {
    case 'short':
      return Math.abs(value) >= 10_000 ? value.toLocaleString('en-US', { notation: 'compact', maximumFractionDigits: 1 }) : fixed(value, decimals);
    case 'percent':
      return `${fixed(value, decimals ?? 1)}%`;
    case 'currencyUSD':
      return value.toLocaleString('en-US', { style: 'currency', currency: 'USD', maximumFractionDigits: decimals ?? 2 });
    case 'ms':
      return value >= 1000 ? `${fixed(value / 1000, 2)} s` : `${fixed(value, decimals ?? 0)} ms`;
    case 's': {
      if (Math.abs(value) < 60) return `${fixed(value, decimals)} s`;
      const minutes = Math.floor(value / 60);
      if (minutes < 60) return `${minutes} min ${Math.round(value % 60)} s`;
      return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
    }
    default:
      return fixed(value, decimals);
  }
}

/** Axis ticks: short, so neighbours do not overlap ($3K, 1.2M, 45 s). */
function formatTick(value, unit) {
  if (typeof value !== 'number') return String(value);
  if (unit === 'currencyUSD') return value.toLocaleString('en-US', { style: 'currency', currency: 'USD', notation: 'compact', maximumFractionDigits: 1 });
  if (unit === 'short' || unit === 'none') return value.toLocaleString('en-US', { notation: 'compact', maximumFractionDigits: 1 });
  return formatValue(value, unit, undefined);
}

function formatTime(ms) {
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

function formatCell(panel, column, value) {
  if (isDateTime(column) && typeof value === 'number') return formatTime(value);
  const mapped = panel.columns?.[column.name]?.valueText?.[String(value)];
  if (mapped) return mapped.text;
  if (Array.isArray(value)) return value.join(', ');
  return isNumeric(column) ? formatValue(value, unitOf(panel, column.name), decimalsOf(panel, column.name)) : String(value ?? '');
}

const color = (name) => COLORS[name] ?? name;
const humanize = (name) => name.replace(/_/g, ' ');

// ---------------------------------------------------------------------------------------------
// Result shapes

/**
 * Long or wide time series → one series per numeric column and combination of string columns,
 * like Grafana's ClickHouse plugin: `time, country, revenue` gives one series per country.
 */
function toSeries(columns, rows) {
  const labels = [];
  const values = [];
  columns.forEach((c, i) => {
    if (i === 0) return;
    (isNumeric(c) ? values : labels).push(i);
  });
  const series = new Map();
  for (const row of rows) {
    const label = labels.map((i) => String(row[i])).join(' ');
    for (const i of values) {
      const name = label ? (values.length > 1 ? `${label} ${columns[i].name}` : label) : columns[i].name;
      let s = series.get(name);
      if (!s) {
        s = { name, column: columns[i].name, data: [] };
        series.set(name, s);
      }
      s.data.push([row[0], row[i]]);
    }
  }
  return [...series.values()];
}

/** Stacked series need a value at every time of every series (ECharts stacks point by point): missing is 0. */
function alignForStacking(series) {
  const times = [...new Set(series.flatMap((s) => s.data.map((d) => d[0])))].sort((a, b) => a - b);
  return series.map((s) => {
    const byTime = new Map(s.data.map((d) => [d[0], d[1]]));
    return { ...s, data: times.map((t) => [t, byTime.get(t) ?? 0]) };
  });
}

function lastValue(data) {
  for (let i = data.length - 1; i >= 0; i--) if (data[i][1] !== null && data[i][1] !== undefined) return data[i][1];
  return null;
}

// ---------------------------------------------------------------------------------------------
// Rendering

function chartFor(panel, body) {
  let chart = state.charts.get(panel.id);
  if (!chart || chart.getDom().parentElement !== body) {
    body.replaceChildren();
    const el = document.createElement('div');
    el.className = 'chart';
    body.append(el);
    chart = echarts.init(el, 'dark', { renderer: 'canvas' });
    state.charts.set(panel.id, chart);
  }
  return chart;
}

function dropChart(panel) {
  state.charts.get(panel.id)?.dispose();
  state.charts.delete(panel.id);
}

const baseOption = {
  backgroundColor: 'transparent',
  color: PALETTE,
  animation: false,
  textStyle: { fontFamily: 'Inter, Helvetica Neue, Arial, sans-serif' },
};

function renderTimeSeries(panel, body, { columns, rows }) {
  const series = panel.stacked ? alignForStacking(toSeries(columns, rows)) : toSeries(columns, rows);
  const unit = (s) => unitOf(panel, s.column);
  chartFor(panel, body).setOption(
    {
      ...baseOption,
      grid: { left: 8, right: 16, top: 12, bottom: series.length > 1 ? 44 : 12, containLabel: true },
      tooltip: { trigger: 'axis', valueFormatter: (v) => formatValue(v, unitOf(panel, series[0]?.column), decimalsOf(panel, series[0]?.column)) },
      legend: series.length > 1 ? { type: 'scroll', bottom: 0, textStyle: { fontSize: 11 } } : undefined,
      xAxis: { type: 'time', min: state.from, max: state.to, axisLabel: { hideOverlap: true } },
      yAxis: {
        type: 'value',
        axisLabel: { formatter: (v) => formatTick(v, unit(series[0] ?? { column: '' })) },
        splitLine: { lineStyle: { color: '#2c3235' } },
      },
      series: series.map((s) => ({
        name: s.name,
        type: panel.style === 'bars' ? 'bar' : 'line',
        stack: panel.stacked ? 'total' : undefined,
        showSymbol: false,
        areaStyle: panel.style === 'bars' ? undefined : { opacity: 0.1 },
        lineStyle: { width: 2 },
        data: s.data,
      })),
    },
    { notMerge: true },
  );
}

function renderBarChart(panel, body, { columns, rows }) {
  const x = columns.findIndex((c) => c.name === panel.xField);
  const bars = columns.map((c, i) => (i !== x && isNumeric(c) ? i : -1)).filter((i) => i >= 0);
  const categories = rows.map((r) => String(r[x]));
  const horizontal = panel.orientation === 'horizontal';
  const categoryAxis = { type: 'category', data: categories, inverse: horizontal, axisLabel: { width: 110, overflow: 'truncate' } };
  const valueAxis = {
    type: 'value',
    axisLabel: { formatter: (v) => formatTick(v, unitOf(panel, columns[bars[0]]?.name)), hideOverlap: true },
    splitLine: { lineStyle: { color: '#2c3235' } },
  };
  chartFor(panel, body).setOption(
    {
      ...baseOption,
      grid: { left: 8, right: 24, top: 12, bottom: bars.length > 1 ? 36 : 8, containLabel: true },
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
      legend: bars.length > 1 ? { bottom: 0, textStyle: { fontSize: 11 } } : undefined,
      xAxis: horizontal ? valueAxis : categoryAxis,
      yAxis: horizontal ? categoryAxis : valueAxis,
      series: bars.map((i) => ({
        name: columns[i].name,
        type: 'bar',
        data: rows.map((r) => r[i]),
        label: {
          show: panel.showValues,
          position: horizontal ? 'right' : 'top',
          formatter: (p) => formatValue(p.value, unitOf(panel, columns[i].name), decimalsOf(panel, columns[i].name)),
        },
      })),
    },
    { notMerge: true },
  );
}

function renderStat(panel, body, { columns, rows }) {
  /** @type {Array<{ field: string, value: unknown }>} */
  let values;
  let series = [];
  if (panel.format === 'timeSeries') {
    series = toSeries(columns, rows);
    values = series.map((s) => ({ field: s.column, label: s.name, value: lastValue(s.data) }));
  } else {
    values = columns.map((c, i) => (isNumeric(c) ? { field: c.name, label: c.name, value: rows[0]?.[i] ?? null } : null)).filter(Boolean);
  }
  dropChart(panel);
  body.replaceChildren();
  const box = document.createElement('div');
  box.className = 'stats';
  for (const { field, label, value } of values) {
    const stat = document.createElement('div');
    stat.className = 'stat';
    const number = document.createElement('div');
    number.className = 'stat-value';
    number.dataset.field = field;
    number.dataset.value = String(value);
    number.textContent = formatValue(value, unitOf(panel, field), decimalsOf(panel, field));
    number.style.color = color(thresholdColor(panel, value));
    const caption = document.createElement('div');
    caption.className = 'stat-label';
    caption.textContent = humanize(label);
    stat.append(number, caption);
    box.append(stat);
  }
  body.append(box);
  if (panel.sparkline && series.length > 0) {
    const el = document.createElement('div');
    el.className = 'sparkline';
    body.append(el);
    const chart = echarts.init(el, 'dark');
    state.charts.set(panel.id, chart);
    chart.setOption({
      ...baseOption,
      grid: { left: 0, right: 0, top: 2, bottom: 0 },
      xAxis: { type: 'time', show: false, min: state.from, max: state.to },
      yAxis: { type: 'value', show: false, scale: true },
      series: series.map((s) => ({
        type: 'line',
        data: s.data,
        showSymbol: false,
        lineStyle: { width: 1, color: color(panel.color) },
        areaStyle: { opacity: 0.2, color: color(panel.color) },
      })),
    });
  }
}

function thresholdColor(panel, value) {
  let result = panel.color ?? 'green';
  if (typeof value !== 'number') return result;
  for (const t of [...(panel.thresholds ?? [])].sort((a, b) => a.value - b.value)) if (value >= t.value) result = t.color;
  return result;
}

function renderTable(panel, body, { columns, rows }) {
  dropChart(panel);
  const table = document.createElement('table');
  const head = table.createTHead().insertRow();
  for (const c of columns) {
    const th = document.createElement('th');
    th.textContent = c.name;
    head.append(th);
  }
  const maxima = columns.map((c, i) => (panel.columns?.[c.name]?.gauge ? Math.max(0, ...rows.map((r) => Number(r[i]) || 0)) : 0));
  const tbody = table.createTBody();
  for (const row of rows) {
    const tr = tbody.insertRow();
    columns.forEach((c, i) => {
      const td = tr.insertCell();
      td.textContent = formatCell(panel, c, row[i]);
      if (isNumeric(c)) td.className = 'number';
      const mapped = panel.columns?.[c.name]?.valueText?.[String(row[i])];
      if (mapped?.color) td.style.color = color(mapped.color);
      if (panel.columns?.[c.name]?.gauge) {
        // A native <meter>, as Grafana's gauge cell: no drawing of our own.
        const meter = document.createElement('meter');
        meter.min = 0;
        meter.max = maxima[i] || 1;
        meter.value = Number(row[i]) || 0;
        td.append(meter);
      }
    });
  }
  body.replaceChildren(table);
}

function render(panel, body, data) {
  if (panel.type !== 'stat' && data.rows.length === 0) {
    dropChart(panel);
    body.innerHTML = '<div class="empty">No data in this range</div>';
    return;
  }
  if (panel.type === 'timeseries') renderTimeSeries(panel, body, data);
  else if (panel.type === 'barchart') renderBarChart(panel, body, data);
  else if (panel.type === 'stat') renderStat(panel, body, data);
  else renderTable(panel, body, data);
}

// ---------------------------------------------------------------------------------------------
// Loading

function panelElement(panel) {
  const section = document.createElement('section');
  section.className = 'panel';
  section.dataset.panelId = String(panel.id);
  section.dataset.panelType = panel.type;
  section.dataset.state = 'loading';
  section.dataset.rows = '0';
  const { x, y, w, h } = panel.gridPos;
  section.style.gridColumn = `${x + 1} / span ${w}`;
  section.style.gridRow = `${y + 1} / span ${h}`;
  const title = document.createElement('h2');
  title.textContent = panel.title;
  if (panel.description) title.title = panel.description;
  const body = document.createElement('div');
  body.className = 'body';
  section.append(title, body);
  return section;
}

/** @returns {Promise<{ ok: true } | { ok: false, error: string, unreachable: boolean }>} */
async function loadPanel(uid, panel, section, generation) {
  const body = /** @type {HTMLElement} */ (section.querySelector('.body'));
  let outcome;
  try {
    const response = await fetch(`/api/dashboards/${encodeURIComponent(uid)}/panels/${panel.id}?from=${state.from}&to=${state.to}`);
    const payload = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
    outcome = response.ok
      ? { ok: true, data: payload }
      : { ok: false, error: payload.error ?? `HTTP ${response.status}`, unreachable: payload.unreachable === true };
  } catch (error) {
    outcome = {
      ok: false,
      error: `the live server did not answer (${error instanceof Error ? error.message : String(error)})`,
      unreachable: false,
      serverDown: true,
    };
  }
  if (generation !== state.generation) return outcome; // the dashboard or range changed meanwhile
  if (outcome.ok) {
    try {
      render(panel, body, outcome.data);
      section.dataset.rows = String(outcome.data.rows.length);
      section.dataset.state = 'ok';
    } catch (error) {
      outcome = { ok: false, error: `cannot draw this result: ${error instanceof Error ? error.message : String(error)}`, unreachable: false };
    }
  }
  if (!outcome.ok) {
    dropChart(panel);
    const message = document.createElement('div');
    message.className = 'panel-error';
    message.setAttribute('role', 'alert');
    message.textContent = outcome.unreachable ? `ClickHouse is unreachable: ${outcome.error}` : `Query failed: ${outcome.error}`;
    body.replaceChildren(message);
    section.dataset.rows = '0';
    section.dataset.state = 'error';
  }
  return outcome;
}

async function refresh(generation) {
  const dashboard = state.dashboard;
  state.to = Date.now();
  state.from = state.to - RANGE_MS[state.range];
  const sections = new Map([...document.querySelectorAll('#grid .panel')].map((el) => [Number(/** @type {HTMLElement} */ (el).dataset.panelId), el]));
  const outcomes = await Promise.all(dashboard.panels.map((p) => loadPanel(dashboard.uid, p, sections.get(p.id), generation)));
  if (generation !== state.generation) return;
  const failed = outcomes.filter((o) => !o.ok);
  const banner = $('banner');
  if (failed.length === 0) banner.hidden = true;
  else {
    banner.hidden = false;
    const first = failed[0];
    banner.textContent = first.serverDown
      ? `The live server is not answering: ${first.error}`
      : first.unreachable
        ? `ClickHouse is unreachable: ${first.error}`
        : `${failed.length} of ${outcomes.length} panels failed: ${first.error}`;
  }
  state.refreshes++;
  document.body.dataset.refreshCount = String(state.refreshes);
  $('status').textContent = `updated ${new Date().toLocaleTimeString()} · every ${dashboard.refresh}`;
  state.timer = setTimeout(() => void refresh(generation), dashboard.refreshMs);
}

async function show(uid, range) {
  clearTimeout(state.timer);
  const generation = ++state.generation;
  for (const chart of state.charts.values()) chart.dispose();
  state.charts.clear();
  const response = await fetch(`/api/dashboards/${encodeURIComponent(uid)}`);
  if (!response.ok) throw new Error(`dashboard ${uid}: HTTP ${response.status}`);
  const dashboard = await response.json();
  if (generation !== state.generation) return;
  state.dashboard = dashboard;
  state.range = range ?? dashboard.timeRange;
  dashboardSelect.value = uid;
  rangeSelect.value = state.range;
  document.title = `${dashboard.title} · rxa live`;
  document.body.dataset.dashboard = uid;
  $('description').textContent = dashboard.description ?? '';
  $('grid').replaceChildren(...dashboard.panels.map(panelElement));
  history.replaceState(null, '', `?dashboard=${encodeURIComponent(uid)}&range=${encodeURIComponent(state.range)}`);
  await refresh(generation);
}

async function main() {
  const list = await (await fetch('/api/dashboards')).json();
  for (const d of list) dashboardSelect.add(new Option(d.title, d.uid));
  const params = new URLSearchParams(location.search);
  const uid = list.some((d) => d.uid === params.get('dashboard')) ? params.get('dashboard') : list[0]?.uid;
  const range = params.get('range') in RANGE_MS ? params.get('range') : undefined;
  dashboardSelect.addEventListener('change', () => void show(dashboardSelect.value, state.range));
  rangeSelect.addEventListener('change', () => void show(state.dashboard.uid, rangeSelect.value));
  addEventListener('resize', () => {
    for (const c of state.charts.values()) c.resize();
  });
  if (uid) await show(uid, range);
}

main().catch((error) => {
  const banner = $('banner');
  banner.hidden = false;
  banner.textContent = `The live page could not start: ${error instanceof Error ? error.message : String(error)}`;
});
