// History charts drawn with the vendored Chart.js (window.Chart, loaded from /app/vendor/).
// Each chart also gets a data table for people who cannot see the canvas.

import { formatDate, h, humanize, table } from './ui.js';

// Colours distinguishable for common colour-vision deficiencies (Okabe–Ito).
const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000'];

const charts = new Set();

/** Destroy the charts of the page being left (Chart.js keeps listeners on each canvas). */
export function destroyCharts() {
  for (const chart of charts) chart.destroy();
  charts.clear();
}

function chartCard(title, description, rows, headers, config) {
  const canvas = h('canvas', { role: 'img', 'aria-label': `${title}. ${description}` });
  const card = h('figure', { class: 'chart card' },
    h('figcaption', {}, h('h3', {}, title), h('p', { class: 'muted' }, description)),
    h('div', { class: 'chart-box' }, canvas),
    h('details', {}, h('summary', {}, `${title}: data as a table`), table(title, headers, rows)));
  if (window.Chart) {
    charts.add(new window.Chart(canvas, config));
  } else {
    canvas.replaceWith(h('p', { class: 'notice error' }, 'The charting library did not load.'));
  }
  return card;
}

const HOUR = 3600 * 1000;
const DAY = 24 * HOUR;

/** A linear time axis (ms since the epoch) framed around the data: one point, or points on a
 * single day, get a day either side instead of Chart.js's default span of years. */
function timeAxis(groups) {
  const xs = [...groups.values()].flat().map((point) => point.x);
  const low = Math.min(...xs);
  const high = Math.max(...xs);
  const pad = Math.max((high - low) * 0.05, high - low < 2 * DAY ? DAY : HOUR);
  const short = high - low < 2 * DAY;
  return {
    type: 'linear', min: low - pad, max: high + pad,
    ticks: { callback: (value) => formatDate(value, false), maxTicksLimit: short ? 3 : 6,
      stepSize: short ? DAY : undefined },
  };
}

function byExercise(analyses, value) {
  const groups = new Map();
  for (const analysis of analyses) {
    const result = analysis.result;
    if (!result || analysis.status !== 'succeeded') continue;
    const y = value(result);
    if (y === null || y === undefined) continue;
    const label = result.exercise?.label || 'unknown';
    if (!groups.has(label)) groups.set(label, []);
    groups.get(label).push({ x: new Date(analysis.created_at).getTime(), y, id: analysis.id });
  }
  for (const points of groups.values()) points.sort((a, b) => a.x - b.x);
  return groups;
}

function lineConfig(groups, yTitle, yOptions = {}) {
  return {
    type: 'line',
    data: {
      datasets: [...groups.entries()].map(([label, points], index) => ({
        label: humanize(label), data: points, borderColor: PALETTE[index % PALETTE.length],
        backgroundColor: PALETTE[index % PALETTE.length], pointRadius: 4, tension: 0.2,
      })),
    },
    options: {
      responsive: true, maintainAspectRatio: false, animation: false,
      parsing: false,
      scales: {
        x: timeAxis(groups),
        y: { beginAtZero: true, title: { display: true, text: yTitle }, ...yOptions },
      },
      plugins: {
        tooltip: { callbacks: { title: (items) => formatDate(items[0]?.parsed.x) } },
      },
    },
  };
}

function groupRows(groups, format) {
  const rows = [];
  for (const [label, points] of groups) {
    for (const point of points) rows.push([formatDate(point.x), humanize(label), format(point.y)]);
  }
  return rows.sort((a, b) => String(a[0]).localeCompare(String(b[0])));
}

/** Repetitions per analysed video over time, one line per exercise. */
export function repetitionsChart(analyses) {
  const groups = byExercise(analyses, (result) => result.rep_count);
  if (!groups.size) return null;
  return chartCard('Repetitions over time', 'Repetitions counted in each analysed video, per exercise.',
    groupRows(groups, String), ['When', 'Exercise', 'Repetitions'],
    lineConfig(groups, 'repetitions', { ticks: { precision: 0 }, suggestedMax: 5 }));
}

/** Form score (probability the execution is correct) over time, one line per exercise. */
export function formScoreChart(analyses) {
  const groups = byExercise(analyses, (result) => (
    typeof result.form?.score === 'number' ? Math.round(result.form.score * 100) : null));
  if (!groups.size) return null;
  return chartCard('Form score over time',
    'How likely each execution\'s form is correct (0–100%), per exercise.',
    groupRows(groups, (y) => `${y}%`), ['When', 'Exercise', 'Form score'],
    lineConfig(groups, 'form score (%)', { max: 100 }));
}

/** The plan in force for each week: the active one, else the newest version. */
export function weeklyPlans(plans) {
  const weeks = new Map();
  for (const plan of plans) {
    const held = weeks.get(plan.week);
    const better = !held
      || (plan.status === 'active' && held.status !== 'active')
      || (plan.status === held.status && (plan.version ?? 0) > (held.version ?? 0));
    if (better) weeks.set(plan.week, plan);
  }
  return [...weeks.values()].sort((a, b) => a.week - b.week);
}

export function planLoad(plan) {
  let sets = 0;
  let reps = 0;
  let seconds = 0;
  for (const day of plan.days || []) {
    for (const item of day.exercises || []) {
      sets += item.sets || 0;
      if (item.reps) reps += (item.sets || 1) * item.reps;
      if (item.duration_s) seconds += (item.sets || 1) * item.duration_s;
    }
  }
  const days = (plan.days || []).length;
  const done = (plan.days || []).filter((day) => day.completed).length;
  return { sets, reps, seconds, days, done, adherence: days ? Math.round((done / days) * 100) : 0 };
}

/** Weekly load (prescribed sets) and adherence (share of days marked done). */
export function weeklyLoadChart(plans) {
  const weeks = weeklyPlans(plans);
  if (!weeks.length) return null;
  const loads = weeks.map(planLoad);
  const labels = weeks.map((plan) => `week ${plan.week}`);
  return chartCard('Weekly load and adherence',
    'Sets prescribed each week (bars) and the share of training days marked done (line).',
    weeks.map((plan, i) => [labels[i], String(loads[i].sets), String(loads[i].reps),
      `${loads[i].done}/${loads[i].days} (${loads[i].adherence}%)`]),
    ['Week', 'Sets', 'Repetitions', 'Days done'],
    {
      data: {
        labels,
        datasets: [
          { type: 'bar', label: 'sets prescribed', data: loads.map((l) => l.sets),
            backgroundColor: PALETTE[0], yAxisID: 'y', maxBarThickness: 56, order: 2 },
          // drawn over the bars (lower order is drawn last)
          { type: 'line', label: 'adherence (%)', data: loads.map((l) => l.adherence),
            borderColor: PALETTE[1], backgroundColor: PALETTE[1], yAxisID: 'adherence',
            pointRadius: 5, order: 1 },
        ],
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        scales: {
          y: { beginAtZero: true, title: { display: true, text: 'sets' } },
          adherence: { position: 'right', min: 0, max: 100, grid: { drawOnChartArea: false },
            title: { display: true, text: 'adherence (%)' } },
        },
      },
    });
}

/** Readiness scores (sleep, resting heart rate, HRV against the personal baseline). */
export function readinessChart(entries) {
  const points = entries.filter((entry) => typeof entry.score === 'number')
    .map((entry) => ({ x: new Date(`${entry.date}T12:00:00`).getTime(), y: entry.score, band: entry.band }))
    .sort((a, b) => a.x - b.x);
  if (!points.length) return null;
  return chartCard('Readiness', 'Daily readiness score from sleep, resting heart rate and HRV.',
    points.map((p) => [formatDate(p.x, false), String(Math.round(p.y)), humanize(p.band || '')]),
    ['Day', 'Score', 'Band'],
    lineConfig(new Map([['readiness', points]]), 'score', { max: 100 }));
}
