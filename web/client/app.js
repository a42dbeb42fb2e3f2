// Rehab Coach web client: a hash-routed single page over /api/v1 (see api.js).
// Pages: sign in / sign up, profile, this week's plan, upload + result, history charts,
// clinic (patients list and a patient's page for clinicians; join/leave for patients), ops.

import { ApiError, api, list, session, upload, waitForJob } from './api.js';
import {
  destroyCharts, formScoreChart, planLoad, readinessChart, repetitionsChart, weeklyLoadChart,
} from './charts.js';
import {
  add, announce, errorBox, field, fill, formatDate, h, humanize, notice, percent, progressBar,
  select, table, uid,
} from './ui.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');

const state = { me: null, generation: 0, blobUrls: [] };

const SEXES = [['female', 'Female'], ['male', 'Male'], ['other', 'Other']];
const LEVELS = [['beginner', 'Beginner'], ['intermediate', 'Intermediate'], ['advanced', 'Advanced']];
const INJURIES = [['acl', 'ACL (knee ligament)'], ['meniscus', 'Meniscus'],
  ['achilles', 'Achilles tendon'], ['none', 'No injury']];
const RATINGS = [['easy', 'Easy'], ['doable', 'Doable'], ['too_difficult', 'Too difficult'],
  ['discomfort', 'Caused discomfort']];

// ---------------------------------------------------------------- routing and page frame

const ROUTES = [
  { pattern: /^signin$/, page: signInPage, public: true },
  { pattern: /^signup$/, page: signUpPage, public: true },
  { pattern: /^plan$/, page: planPage },
  { pattern: /^profile$/, page: profilePage },
  { pattern: /^upload$/, page: uploadPage },
  { pattern: /^result\/([\w-]+)$/, page: resultPage },
  { pattern: /^history$/, page: historyPage },
  { pattern: /^clinic$/, page: clinicPage },
  { pattern: /^patient\/([\w-]+)$/, page: patientPage },
  { pattern: /^ops$/, page: opsPage },
];

function parseHash() {
  const raw = window.location.hash.replace(/^#\/?/, '');
  const [path, search = ''] = raw.split('?');
  return { path, params: new URLSearchParams(search) };
}

export function go(path) {
  if (window.location.hash === `#/${path}`) render();
  else window.location.hash = `#/${path}`;
}

function homeFor(me) {
  if (!me) return 'signin';
  return { clinician: 'clinic', ops: 'ops' }[me.role] || 'plan';
}

/** The page is still the one a slow request or a poll was started for. */
function currentGuard() {
  const generation = state.generation;
  return () => generation === state.generation;
}

async function render() {
  state.generation += 1;
  destroyCharts();
  for (const url of state.blobUrls.splice(0)) URL.revokeObjectURL(url);
  const { path, params } = parseHash();
  if (session.token && !state.me) {
    try {
      state.me = await api.get('/me');
    } catch {
      session.clear();
    }
  }
  const route = ROUTES.find((candidate) => candidate.pattern.test(path));
  if (!route || (!route.public && !state.me) || (route.public && state.me)) {
    go(homeFor(state.me));
    return;
  }
  renderNav(path);
  const isCurrent = currentGuard();
  const page = h('div', { class: 'page' });
  fill(main, page);
  main.setAttribute('aria-busy', 'true');  // until the page's data is in
  try {
    await route.page(page, ...path.match(route.pattern).slice(1), params);
  } catch (error) {
    if (isCurrent()) add(page, errorBox(error));
  }
  if (isCurrent()) {
    main.removeAttribute('aria-busy');
    const heading = page.querySelector('h1');
    if (heading) {
      heading.tabIndex = -1;
      heading.focus({ preventScroll: false });
      document.title = `${heading.textContent} · Rehab Coach`;
    }
  }
}

function renderNav(path) {
  const me = state.me;
  if (!me) {
    fill(nav, navLinks(path, [['signin', 'Sign in'], ['signup', 'Create account']]));
    return;
  }
  const links = {
    patient: [['plan', 'This week'], ['upload', 'Analyse a video'], ['history', 'Progress'],
      ['profile', 'Profile'], ['clinic', 'Clinic']],
    clinician: [['clinic', 'Patients'], ['upload', 'Analyse a video']],
    ops: [['ops', 'Operations'], ['upload', 'Analyse a video']],
  }[me.role] || [];
  fill(nav, navLinks(path, links),
    h('div', { class: 'account' },
      h('span', { class: 'muted' }, `${me.email} (${me.role})`),
      h('button', { type: 'button', class: 'secondary', onclick: signOut }, 'Sign out')));
}

function navLinks(path, links) {
  const top = path.split('/')[0];
  const current = { result: 'upload', patient: 'clinic' }[top] || top;
  return h('ul', {}, links.map(([target, label]) => h('li', {},
    h('a', { href: `#/${target}`, 'aria-current': target === current ? 'page' : null }, label))));
}

async function signOut() {
  try {
    // Ends the sign-in on the server: the refresh token and this access token stop working.
    if (session.token) await api.post('/auth/logout', undefined, { retry: false });
  } catch { /* already expired or revoked: the local session ends anyway */ }
  session.clear();
  state.me = null;
  announce('Signed out');
  go('signin');
}

window.addEventListener('rc:signed-out', () => {
  state.me = null;
  go('signin');
});
window.addEventListener('hashchange', render);

/** A form whose submit runs `action` with a busy button and errors shown above the button. */
function form(attrs, children, action) {
  const status = h('div', { class: 'form-status' });
  const element = h('form', { novalidate: false, ...attrs }, children, status);
  element.addEventListener('submit', async (event) => {
    event.preventDefault();
    const button = element.querySelector('button[type=submit]');
    fill(status);
    if (button) button.disabled = true;
    element.setAttribute('aria-busy', 'true');
    try {
      await action(new FormData(element), status);
    } catch (error) {
      fill(status, errorBox(error));
      announce(error.message || 'Something went wrong');
    } finally {
      if (button) button.disabled = false;
      element.removeAttribute('aria-busy');
    }
  });
  return element;
}

const input = (attrs) => h('input', attrs);
const submit = (label) => h('button', { type: 'submit' }, label);

// ---------------------------------------------------------------- accounts

async function signIn(email, password) {
  const tokens = await api.post('/auth/token', { email, password });
  session.save(tokens);
  state.me = await api.get('/me');
  announce(`Signed in as ${state.me.email}`);
}

function signInPage(page) {
  add(page, 
    h('h1', {}, 'Sign in'),
    h('p', {}, 'Rehab Coach analyses your exercise videos and plans your rehabilitation week.'),
    form({ class: 'card narrow', 'aria-label': 'Sign in' }, [
      field('Email', input({ type: 'email', name: 'email', autocomplete: 'username', required: true })),
      field('Password', input({ type: 'password', name: 'password', autocomplete: 'current-password', required: true })),
      submit('Sign in'),
    ], async (data) => {
      await signIn(data.get('email'), data.get('password'));
      go(homeFor(state.me));
    }),
    h('p', {}, 'New here? ', h('a', { href: '#/signup' }, 'Create an account')));
}

function signUpPage(page) {
  add(page, 
    h('h1', {}, 'Create an account'),
    form({ class: 'card narrow', 'aria-label': 'Create an account' }, [
      field('Email', input({ type: 'email', name: 'email', autocomplete: 'email', required: true })),
      field('Password', input({ type: 'password', name: 'password', autocomplete: 'new-password', required: true, minLength: 8 }),
        'At least 8 characters.'),
      submit('Create account'),
    ], async (data) => {
      await api.post('/auth/register', { email: data.get('email'), password: data.get('password') });
      await signIn(data.get('email'), data.get('password'));
      go('profile');
    }),
    h('p', {}, 'Already registered? ', h('a', { href: '#/signin' }, 'Sign in')));
}

// ---------------------------------------------------------------- profile

async function profilePage(page) {
  add(page, h('h1', {}, 'Your profile'),
    h('p', {}, 'The plan is built from these answers. You can change them at any time.'));
  const [profile, equipment] = await Promise.all([
    api.get('/profile').catch((error) => { if (error.status === 404) return null; throw error; }),
    api.get('/equipment').then((body) => body.equipment).catch(() => ['resistance_band', 'dumbbells', 'gym']),
  ]);
  const p = profile || { sex: 'female', age: 30, height_cm: 170, weight_kg: 70, fitness_level: 'beginner',
    injury: 'none', equipment: [], workouts_per_week: 3 };
  const number = (name, value, min, max, step = 1) => input({ type: 'number', name, value, min, max, step, required: true, inputMode: 'decimal' });
  const bmi = h('p', { class: 'muted', 'aria-live': 'polite' }, profile ? `BMI ${profile.bmi}` : '');
  add(page, form({ class: 'card', 'aria-label': 'Profile' }, [
    h('div', { class: 'grid' },
      field('Sex', select('sex', SEXES, p.sex)),
      field('Age (years)', number('age', p.age, 13, 100)),
      field('Height (cm)', number('height_cm', p.height_cm, 100, 230, 0.5)),
      field('Weight (kg)', number('weight_kg', p.weight_kg, 30, 250, 0.1)),
      field('Fitness level', select('fitness_level', LEVELS, p.fitness_level)),
      field('Injury', select('injury', INJURIES, p.injury)),
      field('Workouts per week', number('workouts_per_week', p.workouts_per_week, 1, 7))),
    h('fieldset', {}, h('legend', {}, 'Equipment you have (none ticked: bodyweight only)'),
      h('div', { class: 'checks' }, equipment.map((item) => h('label', { class: 'check' },
        input({ type: 'checkbox', name: 'equipment', value: item, checked: p.equipment.includes(item) }),
        ` ${humanize(item)}`)))),
    bmi,
    submit('Save profile'),
  ], async (data, status) => {
    const saved = await api.put('/profile', {
      sex: data.get('sex'), age: Number(data.get('age')), height_cm: Number(data.get('height_cm')),
      weight_kg: Number(data.get('weight_kg')), fitness_level: data.get('fitness_level'),
      injury: data.get('injury'), equipment: data.getAll('equipment'),
      workouts_per_week: Number(data.get('workouts_per_week')),
    });
    bmi.textContent = `BMI ${saved.bmi}`;
    fill(status, h('div', { class: 'notice success', role: 'status' }, 'Profile saved. ',
      h('a', { href: '#/plan' }, 'Go to this week\'s plan')));
    announce('Profile saved');
  }));
}

// ---------------------------------------------------------------- plan

async function currentPlan(userId) {
  try {
    return await api.get('/plans/current', { query: { user_id: userId } });
  } catch (error) {
    if (error.status === 404) return null;
    throw error;
  }
}

async function planPage(page) {
  const isCurrent = currentGuard();
  add(page, h('h1', {}, 'This week\'s plan'));
  const body = h('div');
  add(page, body);
  const plan = await currentPlan();
  if (!isCurrent()) return;
  if (!plan) {
    add(body, notice('You have no plan yet. Fill in your profile, then generate this week\'s plan.'),
      generatePlanForm('Generate this week\'s plan'));
    return;
  }
  add(body, planView(plan, { editable: true }), generatePlanForm('Generate a new version of this week'));
}

function generatePlanForm(label) {
  const progress = progressBar('Plan generation');
  progress.element.hidden = true;
  return form({ class: 'card', 'aria-label': 'Generate a plan' }, [
    h('p', {}, 'The plan is scored for your profile by the plan network and built into training days.'),
    progress.element,
    submit(label),
  ], async () => {
    const isCurrent = currentGuard();
    let accepted;
    try {
      accepted = await api.post('/plans', undefined, { idempotent: true });
    } catch (error) {
      if (error.code === 'profile_required') {
        throw Object.assign(error, { message: 'Save your profile first (Profile page).' });
      }
      throw error;
    }
    progress.element.hidden = false;
    announce('Generating your plan');
    const job = await waitForJob(accepted.job_id, (update) => progress.set(update.progress ?? 0, humanize(update.stage || update.status)), isCurrent);
    if (!job) return;
    if (job.status !== 'succeeded') throw new ApiError(500, job.error || { message: `plan job ${job.status}` });
    announce('Your plan is ready');
    render();
  });
}

function prescription(item) {
  const parts = [`${item.sets} ${item.sets === 1 ? 'set' : 'sets'}`];
  if (item.reps) parts.push(`${item.reps} reps`);
  if (item.duration_s) parts.push(`${item.duration_s} s`);
  return parts.join(' × ');
}

/** The plan's days; `editable` (the patient's own current plan) adds done buttons, filming
 * links and the week's feedback form. */
function planView(plan, { editable = false } = {}) {
  const load = planLoad(plan);
  const container = h('section', { class: 'plan', 'aria-label': `Plan for week ${plan.week}` });
  add(container, 
    h('p', { class: 'plan-meta' },
      `Week ${plan.week}`, plan.version ? `, version ${plan.version}` : '', ` · ${humanize(plan.status)}`,
      ` · ${load.done} of ${load.days} days done · created ${formatDate(plan.created_at)}`,
      ` · model ${plan.model_version}`),
    (plan.notes || []).length ? h('ul', { class: 'notes' }, plan.notes.map((note) => h('li', {}, note))) : null);
  const days = h('ol', { class: 'days' });
  for (const day of plan.days) add(days, dayCard(plan, day, editable));
  add(container, days);
  if (editable) add(container, feedbackSection(plan));
  return container;
}

function dayCard(plan, day, editable) {
  const headingId = `day-${plan.id}-${day.day}`;
  const card = h('li', { class: `card day${day.completed ? ' done' : ''}`, 'aria-labelledby': headingId },
    h('h2', { id: headingId }, `Day ${day.day} · ${day.weekday}`,
      day.completed ? h('span', { class: 'badge good' }, 'Done') : null));
  if (day.lighter) {
    add(card, h('p', { class: 'notice warn' }, `Lighter session (readiness ${day.readiness_score ?? ''})`));
  }
  for (const note of day.notes || []) add(card, h('p', { class: 'muted' }, note));
  const exercises = h('ul', { class: 'exercises' });
  for (const item of day.exercises) {
    add(exercises, h('li', { class: 'exercise' },
      h('h3', {}, item.name),
      h('p', { class: 'prescription' }, prescription(item)),
      (item.reasons || []).length ? h('details', {}, h('summary', {}, 'Why this exercise'),
        h('ul', {}, item.reasons.map((reason) => h('li', {}, reason)))) : null,
      exerciseDetails(item),
      editable ? h('a', { class: 'button-link secondary', href: `#/upload?${new URLSearchParams({
        plan_id: plan.id, day: day.day, exercise_id: item.exercise_id, name: item.name })}` },
      'Film this exercise') : null,
      item.performed ? h('p', { class: 'muted' }, `Performed: ${performedText(item.performed)}`) : null));
  }
  add(card, exercises);
  if (day.performed) add(card, h('p', { class: 'muted' }, `Performed: ${JSON.stringify(day.performed)}`));
  if (editable && !day.completed) {
    const status = h('div', { 'aria-live': 'polite' });
    add(card, h('button', { type: 'button', onclick: async (event) => {
      event.target.disabled = true;
      try {
        await api.post(`/plans/${plan.id}/days/${day.day}/complete`);
        announce(`Day ${day.day} marked done`);
        render();
      } catch (error) {
        event.target.disabled = false;
        fill(status, errorBox(error));
      }
    } }, `Mark day ${day.day} done`), status);
  }
  return card;
}

function performedText(performed) {
  const parts = [];
  if (performed.reps !== undefined && performed.reps !== null) parts.push(`${performed.reps} reps`);
  if (performed.hold_s) parts.push(`held ${performed.hold_s} s`);
  if (performed.rom_deg) parts.push(`range of motion ${Math.round(performed.rom_deg)}°`);
  if (performed.completed !== undefined) parts.push(performed.completed ? 'completed' : 'not completed');
  return parts.join(', ');
}

const exerciseCache = new Map();

/** How to do the exercise and how to film it (camera_check), fetched when first opened. */
function exerciseDetails(item) {
  const body = h('div', { class: 'exercise-details' }, h('p', { class: 'muted' }, 'Loading…'));
  const details = h('details', { class: 'howto', dataset: { exerciseId: item.exercise_id } },
    h('summary', {}, 'How to do and film it'), body);
  details.addEventListener('toggle', async () => {
    if (!details.open || details.dataset.loaded) return;
    details.dataset.loaded = '1';
    try {
      if (!exerciseCache.has(item.exercise_id)) {
        exerciseCache.set(item.exercise_id, api.get(`/exercises/${encodeURIComponent(item.exercise_id)}`));
      }
      const exercise = await exerciseCache.get(item.exercise_id);
      const check = exercise.camera_check;
      fill(body,
        exercise.description ? h('p', {}, exercise.description) : null,
        (exercise.instructions || []).length ? h('ol', {}, exercise.instructions.map((step) => h('li', {}, step))) : null,
        check ? h('div', { class: 'camera-check' },
          h('h4', {}, 'Filming instructions'),
          check.supported === false ? h('p', {}, 'A video of this exercise cannot be checked automatically yet.') : null,
          check.view ? h('p', {}, `Film from: ${humanize(check.view)}`) : null,
          check.measures ? h('p', {}, `Measured: ${[].concat(check.measures).map((m) => humanize(m).replace(':', ': ')).join(', ')}`) : null,
          [].concat(check.instructions || []).length
            ? h('ul', {}, [].concat(check.instructions).map((line) => h('li', {}, line))) : null)
          : h('p', { class: 'muted' }, 'No filming instructions for this exercise.'));
    } catch (error) {
      delete details.dataset.loaded;
      exerciseCache.delete(item.exercise_id);
      fill(body, errorBox(error));
    }
  });
  return details;
}

function feedbackSection(plan) {
  const section = h('section', { class: 'card', 'aria-labelledby': `feedback-${plan.id}` },
    h('h2', { id: `feedback-${plan.id}` }, 'How was this week?'));
  if (plan.feedback) {
    add(section, h('p', {}, `Feedback sent: ${humanize(plan.feedback.rating)}`,
      plan.feedback.note ? ` — “${plan.feedback.note}”` : ''),
    plan.feedback.next_plan_id ? h('p', {}, 'Next week\'s plan was made from it.') : null);
    return section;
  }
  const exercises = new Map();
  for (const day of plan.days) for (const item of day.exercises) exercises.set(item.exercise_id, item.name);
  const pain = input({ type: 'range', name: 'pain', min: 0, max: 10, step: 1, value: 0, id: uid('pain') });
  const painValue = h('output', { for: pain.id }, '0');
  pain.addEventListener('input', () => { painValue.textContent = pain.value; });
  const progress = progressBar('Next week\'s plan');
  progress.element.hidden = true;
  add(section, form({ 'aria-label': 'Week feedback' }, [
    h('fieldset', {}, h('legend', {}, 'Rating'),
      h('div', { class: 'checks' }, RATINGS.map(([value, label], index) => h('label', { class: 'check' },
        input({ type: 'radio', name: 'rating', value, required: true, checked: index === 1 }), ` ${label}`)))),
    h('div', { class: 'field' }, h('label', { for: pain.id }, 'Pain (0 none – 10 worst)'),
      h('div', { class: 'range' }, pain, painValue)),
    h('details', {}, h('summary', {}, 'Which exercises (optional)'),
      h('div', { class: 'checks' }, [...exercises].map(([id, name]) => h('label', { class: 'check' },
        input({ type: 'checkbox', name: 'exercise_ids', value: id }), ` ${name}`)))),
    field('Note (optional)', h('textarea', { name: 'note', rows: 3, maxLength: 1800 })),
    progress.element,
    submit('Send feedback'),
  ], async (data, status) => {
    const isCurrent = currentGuard();
    const note = String(data.get('note') || '').trim();
    const accepted = await api.post(`/plans/${plan.id}/feedback`, {
      rating: data.get('rating'), exercise_ids: data.getAll('exercise_ids'),
      pain: Number(data.get('pain')), ...(note ? { note } : {}),
    }, { idempotent: true });
    progress.element.hidden = false;
    announce('Feedback sent; making next week\'s plan');
    const job = await waitForJob(accepted.job_id, (update) => progress.set(update.progress ?? 0, humanize(update.stage || update.status)), isCurrent);
    if (!job) return;
    if (job.status !== 'succeeded') throw new ApiError(500, job.error || { message: `feedback job ${job.status}` });
    fill(status, notice('Thank you. Next week\'s plan is ready.', 'success'));
    announce('Next week\'s plan is ready');
  }));
  return section;
}

// ---------------------------------------------------------------- upload and result

async function exerciseHints() {
  try {
    const spec = await api.get('/openapi.json');
    const schema = spec.paths?.['/api/v1/videos']?.post?.requestBody?.content?.['multipart/form-data']?.schema;
    return schema?.properties?.exercise?.enum || [];
  } catch {
    return [];
  }
}

async function uploadPage(page, params) {
  const isCurrent = currentGuard();
  const target = params.get('exercise_id') ? {
    plan_id: params.get('plan_id'), day: params.get('day'), exercise_id: params.get('exercise_id'),
  } : null;
  add(page, h('h1', {}, 'Analyse a video'),
    h('p', {}, 'Film from the side, the whole body in view, in good light. The analysis finds the exercise, counts repetitions and judges your form.'),
    target ? notice(`For the plan: ${params.get('name') || target.exercise_id}, day ${target.day}.`) : null);
  const hints = await exerciseHints();
  if (!isCurrent()) return;
  const uploadProgress = progressBar('Upload');
  const jobProgress = progressBar('Analysis');
  const progressArea = h('div', { class: 'progress-area', 'aria-live': 'polite' }, uploadProgress.element, jobProgress.element);
  progressArea.hidden = true;
  const fileInput = input({ type: 'file', name: 'file', accept: 'video/*,image/jpeg,image/png', required: true });
  add(page, form({ class: 'card', 'aria-label': 'Upload a video' }, [
    field('Video (or photo) file', fileInput, 'MP4, MOV, WebM, AVI or MKV; JPEG or PNG for a still photo.'),
    field('Exercise (optional)', select('exercise', [['', 'Detect automatically'],
      ...hints.map((hint) => [hint, humanize(hint)])], '')),
    progressArea,
    submit('Upload and analyse'),
  ], async (data) => {
    const jobIsCurrent = currentGuard();
    const file = fileInput.files[0];
    if (!file) throw new Error('Choose a video file first.');
    const body = new FormData();
    body.append('file', file, file.name);
    if (data.get('exercise')) body.append('exercise', data.get('exercise'));
    if (target) for (const [key, value] of Object.entries(target)) body.append(key, value);
    progressArea.hidden = false;
    uploadProgress.set(0);
    jobProgress.set(0, 'waiting for the upload');
    announce('Uploading');
    const accepted = await upload('/videos', body, (sent, total) => uploadProgress.set((sent / total) * 100,
      `${(sent / 1e6).toFixed(1)} of ${(total / 1e6).toFixed(1)} MB`));
    uploadProgress.set(100, 'uploaded');
    announce('Uploaded; analysing');
    const job = await waitForJob(accepted.job_id, (update) => jobProgress.set(update.progress ?? 0,
      humanize(update.stage || update.status)), jobIsCurrent);
    if (!job) return;
    if (job.status !== 'succeeded') {
      throw new ApiError(422, job.error || { message: `the analysis ${job.status}` });
    }
    jobProgress.set(100, 'done');
    announce('Analysis finished');
    go(`result/${accepted.id}`);
  }));
}

async function resultPage(page, analysisId) {
  const isCurrent = currentGuard();
  add(page, h('h1', {}, 'Analysis result'));
  let analysis = await api.get(`/videos/${encodeURIComponent(analysisId)}`);
  if (['queued', 'running'].includes(analysis.status) && analysis.job_id) {
    const progress = progressBar('Analysis');
    const area = h('div', { 'aria-live': 'polite' }, progress.element);
    add(page, area);
    await waitForJob(analysis.job_id, (job) => progress.set(job.progress ?? 0, humanize(job.stage || job.status)), isCurrent);
    if (!isCurrent()) return;
    area.remove();
    analysis = await api.get(`/videos/${encodeURIComponent(analysisId)}`);
  }
  if (!isCurrent()) return;
  const result = analysis.result;
  if (!result) {
    add(page, notice(`No result: the analysis is ${analysis.status}.`, 'error'));
    return;
  }
  const label = result.exercise?.label || 'unknown';
  page.querySelector('h1').textContent = `Result: ${humanize(label)}`;
  const formResult = result.form || {};
  const verdict = formResult.verdict || 'uncertain';
  add(page, h('dl', { class: 'summary card' },
    h('div', {}, h('dt', {}, 'Exercise'), h('dd', { 'data-testid': 'exercise' }, humanize(label),
      ` (${percent(result.exercise?.confidence)} confidence)`)),
    h('div', {}, h('dt', {}, 'Repetitions'), h('dd', { class: 'big', 'data-testid': 'rep-count' }, String(result.rep_count ?? 0))),
    h('div', {}, h('dt', {}, 'Form'), h('dd', {}, h('span', { class: `badge ${verdict}`, 'data-testid': 'verdict' }, humanize(verdict)),
      typeof formResult.score === 'number' ? ` score ${percent(formResult.score)}` : '')),
    formResult.view ? h('div', {}, h('dt', {}, 'Camera view'), h('dd', {}, humanize(formResult.view))) : null,
    h('div', {}, h('dt', {}, 'Uploaded'), h('dd', {}, formatDate(analysis.created_at)))));

  if (result.person_detected === false) add(page, notice('No person was found in the video.', 'warn'));
  add(page, h('section', { 'aria-labelledby': 'feedback-heading', class: 'card' },
    h('h2', { id: 'feedback-heading' }, 'Feedback'),
    h('ul', { class: 'feedback' }, (result.feedback || []).map((sentence) => h('li', {}, sentence)))));

  if (analysis.annotated_url) add(page, await annotatedVideo(analysis, label));
  else if (analysis.original_available) add(page, replayWhenReady(analysis, label));

  const findingsByRep = new Map();
  for (const finding of formResult.findings || []) {
    const key = finding.rep_index ?? 'all';
    if (!findingsByRep.has(key)) findingsByRep.set(key, []);
    findingsByRep.get(key).push(finding.message || humanize(finding.criterion));
  }
  if ((result.reps || []).length) {
    add(page, h('section', { 'aria-labelledby': 'reps-heading' }, h('h2', { id: 'reps-heading' }, 'Repetitions'),
      table('Each repetition with its timing, range of motion and findings',
        ['#', 'Time (s)', 'Range of motion', 'Findings'],
        result.reps.map((rep) => {
          const messages = [...new Set([...(rep.issues || []).map((issue) => issue.message || humanize(issue.criterion || issue.joint)),
            ...(findingsByRep.get(rep.index) || [])])];
          return [String(rep.index), `${rep.start_s.toFixed(1)}–${rep.end_s.toFixed(1)}`,
            rep.rom_deg ? `${Math.round(rep.rom_deg)}° ${humanize(rep.rom_joint || '')}` : '–',
            messages.length ? h('ul', {}, messages.map((m) => h('li', {}, m))) : h('span', { class: 'good-text' }, 'no issue')];
        }), { class: 'reps-table' })));
  }
  if (findingsByRep.has('all')) {
    add(page, h('section', { class: 'card' }, h('h2', {}, 'Findings over the whole video'),
      h('ul', {}, findingsByRep.get('all').map((m) => h('li', {}, m)))));
  }
  if (result.prescribed || result.performed) {
    add(page, h('section', { class: 'card' }, h('h2', {}, 'Against your plan'),
      result.prescribed ? h('p', {}, `Prescribed: ${prescription({ sets: result.prescribed.sets ?? 1, ...result.prescribed })}`) : null,
      result.performed ? h('p', {}, `Performed: ${performedText(result.performed)}`) : null));
  }
  const candidates = result.exercise?.candidates || [];
  add(page, h('details', { class: 'card' }, h('summary', {}, 'Details: other candidates and models'),
    candidates.length ? h('ul', {}, candidates.map((c) => h('li', {}, `${humanize(c.label)}: ${percent(c.confidence)}`))) : null,
    h('p', { class: 'muted' }, `Models: ${Object.entries(result.models || {}).map(([k, v]) => `${k} ${v}`).join(', ')}`),
    formResult.not_judged?.length ? h('p', { class: 'muted' }, `Not judged from this view: ${formResult.not_judged.map(humanize).join(', ')}`) : null));
  if (state.me && analysis.job_id && state.me.role === 'patient') {
    add(page, h('p', {}, h('a', { href: '#/history' }, 'See your progress charts')));
  }
}

/** The replay is drawn after the result is out: a placeholder that asks again every second
 * (for up to two minutes) and puts the video in its place once the analysis has it. */
function replayWhenReady(analysis, label) {
  const holder = h('section', { class: 'card', 'data-testid': 'replay-pending' },
    h('h2', {}, 'Annotated video'), h('p', { class: 'muted' }, 'The annotated video is being prepared…'));
  const started = Date.now();
  const poll = async () => {
    if (!holder.isConnected && Date.now() - started > 2000) return; // the page was left
    try {
      const fresh = await api.get(`/videos/${encodeURIComponent(analysis.id)}`);
      if (fresh.annotated_url) {
        holder.replaceWith(await annotatedVideo(fresh, label));
        return;
      }
    } catch (error) { /* try again below */ }
    if (Date.now() - started < 120000) setTimeout(poll, 1000);
  };
  setTimeout(poll, 500);
  return holder;
}

/** The annotated replay, fetched with the bearer token (a <video src> cannot send it). */
async function annotatedVideo(analysis, label) {
  const section = h('section', { class: 'card', 'aria-labelledby': 'video-heading' },
    h('h2', { id: 'video-heading' }, 'Annotated video'));
  try {
    const response = await api.get(`/videos/${encodeURIComponent(analysis.id)}/annotated.mp4`, { raw: true });
    const url = URL.createObjectURL(await response.blob());
    state.blobUrls.push(url);
    add(section, h('video', { controls: true, playsInline: true, preload: 'metadata', src: url,
      'aria-label': `Annotated video of the ${humanize(label)} with skeleton, angles and repetition count` }));
  } catch (error) {
    add(section, error.status === 410
      ? notice('The video was deleted after the retention period; the result is kept.')
      : errorBox(error));
  }
  return section;
}

// ---------------------------------------------------------------- history (own or a patient's)

async function historyPage(page) {
  add(page, h('h1', {}, 'Your progress'));
  add(page, readinessForm());
  await historySections(page);
}

async function historySections(page, userId) {
  const isCurrent = currentGuard();
  const query = userId ? { user_id: userId } : {};
  const [analyses, plans, readiness] = await Promise.all([
    list('/videos', query), list('/plans', query), list('/readiness', query).catch(() => []),
  ]);
  if (!isCurrent()) return;
  const charts = [repetitionsChart(analyses), formScoreChart(analyses), weeklyLoadChart(plans),
    readinessChart(readiness)].filter(Boolean);
  add(page, h('section', { 'aria-labelledby': 'charts-heading' },
    h('h2', { id: 'charts-heading' }, 'Charts'),
    charts.length ? h('div', { class: 'charts' }, charts)
      : notice('No data yet: analyse a video or generate a plan and your charts appear here.')));
  add(page, h('section', { 'aria-labelledby': 'analyses-heading' },
    h('h2', { id: 'analyses-heading' }, 'Analyses'),
    analyses.length ? table('Analysed videos, newest first', ['When', 'Exercise', 'Repetitions', 'Form', 'Status'],
      analyses.map((a) => [
        h('a', { href: `#/result/${a.id}` }, formatDate(a.created_at)),
        humanize(a.result?.exercise?.label || a.exercise_hint || '–'),
        String(a.result?.rep_count ?? '–'),
        a.result?.form ? `${humanize(a.result.form.verdict)} ${percent(a.result.form.score)}` : '–',
        humanize(a.status)]))
      : h('p', {}, 'No analyses yet.')));
}

function readinessForm() {
  const number = (name, min, max, step, value) => input({ type: 'number', name, min, max, step, value, required: true, inputMode: 'decimal' });
  return form({ class: 'card', 'aria-label': 'Today\'s readiness' }, [
    h('h2', {}, 'Today\'s readiness'),
    h('div', { class: 'grid' },
      field('Sleep (hours)', number('sleep_hours', 0, 24, 0.25, 7.5)),
      field('Resting heart rate (bpm)', number('resting_hr', 25, 220, 1, 60)),
      field('Heart rate variability (ms)', number('hrv_ms', 1, 400, 1, 50))),
    submit('Score my readiness'),
  ], async (data, status) => {
    const entry = await api.post('/readiness', {
      sleep_hours: Number(data.get('sleep_hours')), resting_hr: Number(data.get('resting_hr')),
      hrv_ms: Number(data.get('hrv_ms')),
    });
    fill(status, notice(`Readiness ${entry.score}/100 (${humanize(entry.band)}). ${entry.recommendation || ''}${entry.session_adjusted ? ` Day ${entry.session_adjusted.day} was made lighter.` : ''}`, 'success'));
    announce(`Readiness ${entry.score} out of 100`);
  });
}

// ---------------------------------------------------------------- clinic

async function clinicPage(page) {
  if (state.me.role === 'clinician') return clinicianPage(page);
  add(page, h('h1', {}, 'Your clinic'));
  let clinic = null;
  try {
    clinic = await api.get('/clinic');
  } catch (error) {
    if (error.status !== 404) throw error;
  }
  if (clinic) {
    add(page, h('div', { class: 'card' }, h('p', {}, `You belong to ${clinic.name}. Its clinicians can read your profile, plans and analyses.`),
      h('button', { type: 'button', class: 'secondary', onclick: async () => {
        await api.delete('/clinic');
        announce('You left the clinic');
        render();
      } }, 'Leave the clinic')));
    return;
  }
  add(page, form({ class: 'card narrow', 'aria-label': 'Join a clinic' }, [
    h('p', {}, 'Your clinician gives you an invite code. Joining lets the clinic\'s clinicians read your data.'),
    field('Invite code', input({ type: 'text', name: 'invite_code', required: true, minLength: 4, maxLength: 32, autocomplete: 'off' })),
    submit('Join'),
  ], async (data) => {
    await api.post('/clinic/join', { invite_code: String(data.get('invite_code')).trim() });
    announce('You joined the clinic');
    render();
  }));
}

async function clinicianPage(page) {
  const isCurrent = currentGuard();
  add(page, h('h1', {}, 'Patients'));
  let clinic = null;
  try {
    clinic = await api.get('/clinic');
  } catch (error) {
    if (error.status !== 404) throw error;
  }
  if (!isCurrent()) return;
  if (!clinic) {
    add(page, form({ class: 'card narrow', 'aria-label': 'Create a clinic' }, [
      h('p', {}, 'Create your clinic, then give its invite code to your patients.'),
      field('Clinic name', input({ type: 'text', name: 'name', required: true, maxLength: 200 })),
      submit('Create clinic'),
    ], async (data) => {
      await api.post('/clinics', { name: data.get('name') });
      render();
    }));
    return;
  }
  add(page, h('p', { class: 'card' }, `${clinic.name} · invite code for patients: `,
    h('code', { 'data-testid': 'invite-code' }, clinic.invite_code || '–')));
  const patients = await list('/clinic/patients');
  if (!isCurrent()) return;
  if (!patients.length) {
    add(page, notice('No patients yet. Patients join with the invite code above.'));
    return;
  }
  add(page, table('Patients, most recently active first',
    ['Patient', 'Injury', 'Plan', 'Adherence', 'Last feedback', 'Last analysis', 'Last active'],
    patients.map((p) => {
      const plan = p.current_plan;
      const adherence = plan && plan.days ? Math.round((plan.days_completed / plan.days) * 100) : null;
      return [
        h('a', { href: `#/patient/${p.id}` }, p.email || p.id),
        p.profile ? `${humanize(p.profile.injury)} · ${p.profile.fitness_level}` : 'no profile',
        plan ? `week ${plan.week}` : 'no plan',
        adherence === null ? '–' : h('span', {}, h('meter', { min: 0, max: 100, value: adherence, 'aria-label': `adherence ${adherence}%` }), ` ${plan.days_completed}/${plan.days}`),
        p.last_feedback ? humanize(p.last_feedback.rating) : '–',
        p.last_analysis ? `${humanize(p.last_analysis.label || p.last_analysis.status)}${p.last_analysis.rep_count != null ? `, ${p.last_analysis.rep_count} reps` : ''}` : '–',
        formatDate(p.last_activity_at),
      ];
    })));
}

async function patientPage(page, userId) {
  const isCurrent = currentGuard();
  add(page, h('h1', {}, 'Patient'), h('p', {}, h('a', { href: '#/clinic' }, '← All patients')));
  const patients = await list('/clinic/patients').catch(() => []);
  const patient = patients.find((p) => p.id === userId);
  if (!isCurrent()) return;
  if (patient) page.querySelector('h1').textContent = `Patient ${patient.email}`;
  const profile = await api.get('/profile', { query: { user_id: userId } }).catch((error) => {
    if (error.status === 404) return null;
    throw error;
  });
  if (profile) {
    add(page, h('dl', { class: 'summary card' }, [
      ['Injury', humanize(profile.injury)], ['Fitness level', profile.fitness_level],
      ['Age', profile.age], ['BMI', profile.bmi], ['Workouts per week', profile.workouts_per_week],
      ['Equipment', profile.equipment.map(humanize).join(', ') || 'none'],
    ].map(([term, value]) => h('div', {}, h('dt', {}, term), h('dd', {}, String(value))))));
  } else {
    add(page, notice('No profile yet.'));
  }
  const plan = await currentPlan(userId);
  if (!isCurrent()) return;
  add(page, h('h2', {}, 'Current plan'), plan ? planView(plan) : notice('No plan yet.'));
  await historySections(page, userId);
}

// ---------------------------------------------------------------- ops

async function opsPage(page) {
  const isCurrent = currentGuard();
  add(page, h('h1', {}, 'Operations'));
  const progress = progressBar('Reprocessing batch');
  progress.element.hidden = true;
  const outcome = h('div', { 'aria-live': 'polite' });
  add(page, h('section', { class: 'card', 'aria-labelledby': 'reprocess-heading' },
    h('h2', { id: 'reprocess-heading' }, 'Reprocess stored analyses'),
    h('p', {}, 'Re-run stored analyses through the current models as a low-priority batch. Leave a field empty to not filter on it.'),
    form({ 'aria-label': 'Reprocess' }, [
      h('div', { class: 'grid' },
        field('Created at or after (UTC)', input({ type: 'datetime-local', name: 'since' })),
        field('Created before (UTC)', input({ type: 'datetime-local', name: 'until' })),
        field('Exercise', input({ type: 'text', name: 'exercise', maxLength: 64 })),
        field('User id', input({ type: 'text', name: 'user_id', maxLength: 32 }))),
      progress.element,
      outcome,
      submit('Start reprocessing'),
    ], async (data) => {
      const body = {};
      for (const key of ['since', 'until']) if (data.get(key)) body[key] = `${data.get(key)}:00+00:00`;
      for (const key of ['exercise', 'user_id']) if (data.get(key)) body[key] = String(data.get(key)).trim();
      const accepted = await api.post('/ops/reprocess', body, { idempotent: true });
      progress.element.hidden = false;
      announce('Reprocessing started');
      const job = await waitForJob(accepted.job_id, (update) => progress.set(update.progress ?? 0, humanize(update.stage || update.status)), isCurrent);
      if (!job) return;
      fill(outcome, job.status === 'succeeded'
        ? notice(`Batch ${job.status}: ${Object.entries(job.result || {}).filter(([, v]) => typeof v !== 'object').map(([k, v]) => `${humanize(k)} ${v}`).join(', ')}`, 'success')
        : errorBox(new ApiError(500, job.error || { message: `batch ${job.status}` })));
      announce(`Reprocessing ${job.status}`);
    })));
  const models = await api.get('/ops/models');
  if (!isCurrent()) return;
  const section = h('section', { 'aria-labelledby': 'models-heading' }, h('h2', { id: 'models-heading' }, 'Model versions'));
  for (const [family, info] of Object.entries(models)) {
    add(section, table(`${family} (active: ${info.active})`, ['Version', 'Active', 'Trained', 'Key metrics'],
      (info.versions || []).map((version) => [version.version, version.active ? 'yes' : '',
        formatDate(version.metrics?.created_at, false), headlineMetrics(version.metrics || version)])));
  }
  add(page, section);
}

/** The quality figures worth a glance in a metrics.json (the file holds the rest). */
function headlineMetrics(metrics) {
  const format = (value) => (Number.isInteger(value) ? String(value) : value.toFixed(3));
  const scalars = (source, keys) => keys.filter((key) => typeof source?.[key] === 'number')
    .map((key) => `${humanize(key)} ${format(source[key])}`).join(', ');
  const parts = [];
  if (metrics.test) parts.push(`held-out test: ${scalars(metrics.test, ['accuracy', 'roc_auc', 'f1'])}`);
  if (metrics.real_validation) {
    parts.push(`real validation: ${scalars(metrics.real_validation, ['gym_accuracy', 'still_frame_gym_accuracy'])}`);
  }
  for (const [family, figures] of Object.entries(metrics.families || {})) {
    const held = figures?.validation;
    if (typeof held?.roc_auc === 'number') {
      parts.push(`${humanize(family)}: ROC AUC ${format(held.roc_auc)} on ${held.sequences} held-out sequences`);
    }
  }
  if (!parts.length) {
    for (const [key, value] of Object.entries(metrics)) {
      if (['version', 'active', 'created_at'].includes(key)) continue;
      if (typeof value === 'number' || typeof value === 'string') parts.push(`${humanize(key)} ${typeof value === 'number' ? format(value) : value}`);
    }
  }
  return parts.length ? h('ul', { class: 'plain' }, parts.map((part) => h('li', {}, part))) : '–';
}

render();
