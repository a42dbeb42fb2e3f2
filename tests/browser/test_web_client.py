"""The web client at `/` in a real browser, through the real stack: a patient signs up, fills the
profile, gets this week's plan, marks a day done, rates the week (with pain), uploads a real
push-up video and sees its repetitions, form verdict and the annotated replay, then the history
charts; a clinician sees the clinic's patients and a patient's page; ops see the model versions
and start a reprocessing batch."""

from __future__ import annotations

import subprocess
import time
import uuid

import pytest
import requests
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.support.stack import BIN, ROOT, Client

pytestmark = pytest.mark.browser

#: every form control on a page must have a label (or an aria-label)
UNLABELLED_CONTROLS = """
return [...document.querySelectorAll('input, select, textarea')]
  .filter((e) => e.type !== 'hidden' && !(e.labels && e.labels.length)
                 && !e.getAttribute('aria-label'))
  .map((e) => e.outerHTML);
"""

#: the data points of every chart drawn on the page, by canvas label
CHART_POINTS = """
return [...document.querySelectorAll('canvas')].map((canvas) => {
  const chart = window.Chart && window.Chart.getChart(canvas);
  return [canvas.getAttribute('aria-label'),
          chart ? chart.data.datasets.reduce((n, d) => n + d.data.length, 0) : -1,
          canvas.width, canvas.height];
});
"""


def wait(driver, timeout: float = 30) -> WebDriverWait:
    return WebDriverWait(driver, timeout, poll_frequency=0.2)


def heading(driver, text: str, timeout: float = 30) -> None:
    """The page titled `text` is shown and its data loaded (the client drops aria-busy)."""
    wait(driver, timeout).until(
        EC.text_to_be_present_in_element((By.CSS_SELECTOR, "main h1"), text))
    wait(driver, timeout).until(EC.presence_of_element_located(
        (By.CSS_SELECTOR, "main:not([aria-busy])")))


def fill(driver, form, values: dict) -> None:
    for name, value in values.items():
        element = form.find_element(By.NAME, name)
        if element.tag_name == "select":
            Select(element).select_by_value(value)
        else:
            element.clear()
            element.send_keys(str(value))


def nav(driver, label: str) -> None:
    driver.find_element(By.LINK_TEXT, label).click()


def assert_labelled(driver) -> None:
    assert driver.execute_script(UNLABELLED_CONTROLS) == []


def js_errors(driver) -> list[str]:
    """Console errors other than the API's expected 4xx answers (e.g. no profile yet)."""
    return [entry["message"] for entry in driver.get_log("browser")
            if entry["level"] == "SEVERE" and "Failed to load resource" not in entry["message"]]


def token(driver) -> str:
    return driver.execute_script("return sessionStorage.getItem('rc.access_token')")


def sign_in(driver, url: str, email: str, password: str) -> None:
    driver.get(url + "/#/signin")
    heading(driver, "Sign in")
    form = driver.find_element(By.CSS_SELECTOR, "form[aria-label='Sign in']")
    fill(driver, form, {"email": email, "password": password})
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()


def create_user(stack, role: str) -> tuple[str, str]:
    email, password = f"{role}-{uuid.uuid4().hex[:8]}@example.com", f"{role}-password-1"
    subprocess.run([str(BIN / "flask"), "--app", "wsgi", "users", "create", "--email", email,
                    "--password", password, "--role", role], cwd=ROOT, env=stack.env, check=True,
                   capture_output=True)
    return email, password


def test_patient_flow(browser_stack, driver, screenshots, shared_data):
    url = browser_stack.url
    timings: dict[str, float] = {}
    started = time.monotonic()

    # Served by the app itself, with the API's health and docs still where they were.
    assert requests.get(url + "/healthz", timeout=5).status_code == 200
    assert requests.get(url + "/api/v1/docs", timeout=5).status_code == 200
    page = requests.get(url + "/", timeout=5)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    assert "Content-Security-Policy" in page.headers

    driver.get(url + "/")
    heading(driver, "Sign in")
    assert_labelled(driver)
    screenshots(driver, "signin")
    # Keyboard: a skip link comes first; after a page change focus is on its title, and Tab
    # goes on into the page's form, drawn with a visible focus outline.
    assert driver.execute_script(
        "return document.querySelector('a[href], button, input, select, textarea').textContent"
    ) == "Skip to content"
    assert driver.switch_to.active_element.tag_name == "h1"
    ActionChains(driver).send_keys(Keys.TAB).perform()
    focused = driver.switch_to.active_element
    assert focused.get_attribute("name") == "email"
    assert focused.value_of_css_property("outline-style") != "none"
    assert float(focused.value_of_css_property("outline-width").removesuffix("px")) >= 2

    # Sign up (keyboard only: tab between fields, Enter submits).
    driver.find_element(By.LINK_TEXT, "Create an account").click()
    heading(driver, "Create an account")
    email = f"browser-{uuid.uuid4().hex[:8]}@example.com"
    form = driver.find_element(By.CSS_SELECTOR, "form[aria-label='Create an account']")
    form.find_element(By.NAME, "email").send_keys(email, Keys.TAB, "correct-horse-1", Keys.ENTER)
    heading(driver, "Your profile")
    assert token(driver), "the access token is kept in sessionStorage"

    # Profile.
    form = driver.find_element(By.CSS_SELECTOR, "form[aria-label='Profile']")
    fill(driver, form, {"sex": "female", "age": 34, "height_cm": 168, "weight_kg": 64,
                        "fitness_level": "beginner", "injury": "acl", "workouts_per_week": 3})
    form.find_element(By.CSS_SELECTOR, "input[value='resistance_band']").click()
    assert_labelled(driver)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(driver).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, "form .notice"),
                                                         "Profile saved"))
    assert "BMI 22.7" in form.text
    screenshots(driver, "profile")

    # This week's plan: generated through the plans worker, with reasons and filming details.
    nav(driver, "This week")
    heading(driver, "This week's plan")
    t0 = time.monotonic()
    driver.find_element(By.XPATH, "//button[text()=\"Generate this week's plan\"]").click()
    wait(driver, 180).until(EC.presence_of_element_located((By.CSS_SELECTOR, ".days .day")))
    timings["plan"] = time.monotonic() - t0
    api = Client(url, token(driver))
    plan = api.get("/api/v1/plans/current").json()
    days = driver.find_elements(By.CSS_SELECTOR, ".days .day")
    assert len(days) == len(plan["days"])
    first = plan["days"][0]["exercises"][0]
    exercise = days[0].find_element(By.CSS_SELECTOR, ".exercise")
    assert first["name"] in exercise.text
    reasons = exercise.find_element(By.XPATH, ".//details[summary[text()='Why this exercise']]")
    reasons.find_element(By.TAG_NAME, "summary").click()
    shown = [li.text for li in reasons.find_elements(By.TAG_NAME, "li")]
    assert shown == first["reasons"] and shown
    howto = exercise.find_element(By.CSS_SELECTOR, "details.howto")
    howto.find_element(By.TAG_NAME, "summary").click()
    detail = api.get(f"/api/v1/exercises/{first['exercise_id']}").json()
    wait(driver).until(lambda d: "Loading" not in howto.text)
    if detail.get("description"):
        assert detail["description"] in howto.text
    if detail.get("camera_check"):
        assert "Filming instructions" in howto.text
    screenshots(driver, "plan")

    # Mark day 1 done.
    days[0].find_element(By.XPATH, ".//button[starts-with(text(), 'Mark day')]").click()
    wait(driver).until(EC.text_to_be_present_in_element(
        (By.CSS_SELECTOR, ".days .day:first-child h2"), "Done"))
    assert api.get(f"/api/v1/plans/{plan['id']}").json()["days"][0]["completed"] is True

    # Rate the week with pain 3 (arrow keys on the slider); next week's plan is made.
    feedback = driver.find_element(By.CSS_SELECTOR, "form[aria-label='Week feedback']")
    feedback.find_element(By.CSS_SELECTOR, "input[value='too_difficult']").click()
    feedback.find_element(By.NAME, "pain").send_keys(Keys.RIGHT, Keys.RIGHT, Keys.RIGHT)
    feedback.find_element(By.NAME, "note").send_keys("Knee felt stiff on day 1.")
    assert_labelled(driver)
    feedback.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(driver, 180).until(EC.text_to_be_present_in_element(
        (By.CSS_SELECTOR, "form[aria-label='Week feedback'] .notice"), "Next week"))
    sent = api.get(f"/api/v1/plans/{plan['id']}").json()["feedback"]
    assert sent["rating"] == "too_difficult"
    assert sent["pain"] == 3 and sent["note"] == "Knee felt stiff on day 1."

    # Upload a real push-up video: upload progress, then the job's progress and stage.
    nav(driver, "Analyse a video")
    heading(driver, "Analyse a video")
    assert_labelled(driver)
    driver.execute_script("""
      window.__progress = [];
      new MutationObserver(() => document.querySelectorAll('.progress-text').forEach(
        (e) => window.__progress.push(e.textContent))).observe(document.querySelector('main'),
        {subtree: true, childList: true, characterData: true});""")
    video = shared_data / "pushfit_sample" / "wrong1.mp4"
    driver.find_element(By.CSS_SELECTOR, "input[type=file]").send_keys(str(video))
    t0 = time.monotonic()
    driver.find_element(By.XPATH, "//button[text()='Upload and analyse']").click()
    wait(driver, 20).until(lambda d: d.find_element(
        By.CSS_SELECTOR, ".progress-area progress").get_attribute("value") == "100")
    screenshots(driver, "upload")
    heading(driver, "Result", timeout=420)
    timings["video"] = time.monotonic() - t0
    seen = driver.execute_script("return window.__progress")
    analysis_id = driver.current_url.rsplit("/", 1)[-1]
    job = api.get(f"/api/v1/jobs/{api.get(f'/api/v1/videos/{analysis_id}').json()['job_id']}")
    assert job.json()["status"] == "succeeded"
    assert any("uploaded" in text for text in seen), seen
    assert any(text.startswith("100%") and "done" in text for text in seen), seen
    assert len(set(seen)) >= 3, seen  # stages were shown while the job ran

    # The result as the API has it.
    result = api.get(f"/api/v1/videos/{analysis_id}").json()["result"]
    assert result["exercise"]["label"] == "pushup" and result["rep_count"] >= 1
    rep_count = driver.find_element(By.CSS_SELECTOR, "[data-testid=rep-count]").text
    assert rep_count == str(result["rep_count"])
    verdict = driver.find_element(By.CSS_SELECTOR, "[data-testid=verdict]").text
    assert verdict == result["form"]["verdict"]
    assert "pushup" in driver.find_element(By.CSS_SELECTOR, "[data-testid=exercise]").text
    rows = driver.find_elements(By.CSS_SELECTOR, ".reps-table tbody tr")
    assert len(rows) == len(result["reps"])
    page_text = driver.find_element(By.TAG_NAME, "main").text
    for sentence in result["feedback"]:
        assert sentence in page_text
    for finding in result["form"]["findings"]:
        assert finding["message"] in page_text
    # The annotated replay was fetched with the token into a blob: URL that Chromium decodes.
    player = wait(driver).until(EC.presence_of_element_located((By.TAG_NAME, "video")))
    assert player.get_attribute("src").startswith("blob:")
    duration = wait(driver).until(lambda d: d.execute_script(
        "const v = document.querySelector('video'); return v.readyState >= 1 && v.duration"))
    assert duration > 0.5
    screenshots(driver, "result")

    # An access token the API no longer accepts: the client refreshes it once, transparently
    # (three list requests answer 401 together; one refresh serves them all).
    old_refresh = driver.execute_script("return sessionStorage.getItem('rc.refresh_token')")
    driver.execute_script("sessionStorage.setItem('rc.access_token', 'no-longer-valid')")

    # Progress charts, drawn with data; and today's readiness.
    nav(driver, "Progress")
    heading(driver, "Your progress")
    wait(driver).until(EC.presence_of_element_located((By.CSS_SELECTOR, "canvas")))
    if old_refresh:  # the API gives refresh tokens
        assert token(driver) not in (None, "no-longer-valid")
        assert driver.execute_script(
            "return sessionStorage.getItem('rc.refresh_token')") not in (None, old_refresh)
    charts = {label.split(".")[0]: (points, width, height)
              for label, points, width, height in driver.execute_script(CHART_POINTS)}
    assert charts["Repetitions over time"][0] == 1, charts
    if isinstance(result["form"].get("score"), float):
        assert charts["Form score over time"][0] == 1, charts
    assert charts["Weekly load and adherence"][0] >= 2, charts  # bars and adherence line
    assert all(width > 100 and height > 100 for _, width, height in charts.values()), charts
    readiness = driver.find_element(By.CSS_SELECTOR, "form[aria-label=\"Today's readiness\"]")
    fill(driver, readiness, {"sleep_hours": 5, "resting_hr": 72, "hrv_ms": 30})
    assert_labelled(driver)
    readiness.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(driver).until(EC.text_to_be_present_in_element(
        (By.CSS_SELECTOR, "form[aria-label=\"Today's readiness\"] .notice"), "/100"))
    driver.refresh()
    heading(driver, "Your progress")
    wait(driver).until(lambda d: any(label.startswith("Readiness") and points == 1
                                     for label, points, *_ in d.execute_script(CHART_POINTS)))
    screenshots(driver, "history")

    # A phone-sized screen: nothing wider than the screen.
    driver.set_window_size(390, 844)
    nav(driver, "This week")
    heading(driver, "This week's plan")
    wait(driver).until(EC.presence_of_element_located((By.CSS_SELECTOR, ".days .day")))
    assert driver.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth + 1")
    screenshots(driver, "plan-phone", full_page=False)

    assert js_errors(driver) == []
    timings["total"] = time.monotonic() - started
    print("browser patient flow timings (s):", {k: round(v, 1) for k, v in timings.items()})


def test_clinician_and_ops_pages(browser_stack, driver, screenshots):
    url = browser_stack.url
    email, password = create_user(browser_stack, "clinician")
    sign_in(driver, url, email, password)
    heading(driver, "Patients")
    form = driver.find_element(By.CSS_SELECTOR, "form[aria-label='Create a clinic']")
    fill(driver, form, {"name": "Knee Clinic"})
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    code = wait(driver).until(EC.presence_of_element_located(
        (By.CSS_SELECTOR, "[data-testid=invite-code]"))).text

    # A patient joins with the code and gets a plan (through the API).
    patient = Client(url).register()
    assert patient.post("/api/v1/clinic/join", json={"invite_code": code}).status_code == 200
    assert patient.put("/api/v1/profile", json={
        "sex": "male", "age": 51, "height_cm": 180, "weight_kg": 88, "fitness_level": "beginner",
        "injury": "meniscus", "equipment": [], "workouts_per_week": 2}).status_code == 200
    job = patient.post("/api/v1/plans").json()["job_id"]
    assert patient.wait_job(job, timeout=180)["status"] == "succeeded"
    plan = patient.get("/api/v1/plans/current").json()
    assert patient.post(f"/api/v1/plans/{plan['id']}/days/1/complete").status_code == 200

    driver.refresh()
    heading(driver, "Patients")
    link = wait(driver).until(EC.element_to_be_clickable((By.LINK_TEXT, patient.email)))
    row = link.find_element(By.XPATH, "./ancestor::tr")
    assert "week" in row.text and f"1/{len(plan['days'])}" in row.text
    screenshots(driver, "clinic-patients")
    link.click()
    heading(driver, f"Patient {patient.email}")
    wait(driver).until(EC.presence_of_element_located((By.CSS_SELECTOR, ".days .day")))
    wait(driver).until(EC.presence_of_element_located((By.CSS_SELECTOR, "canvas")))
    assert "Meniscus".lower() in driver.find_element(By.TAG_NAME, "main").text.lower()
    charts = {label.split(".")[0]: points
              for label, points, *_ in driver.execute_script(CHART_POINTS)}
    assert charts.get("Weekly load and adherence", 0) >= 2, charts
    # Read-only: no buttons that would change the patient's plan.
    assert not driver.find_elements(By.XPATH, "//button[starts-with(text(), 'Mark day')]")
    screenshots(driver, "clinic-patient")

    # Ops: model versions and a reprocessing batch (of the patient above: no analyses, so quick).
    driver.find_element(By.XPATH, "//button[text()='Sign out']").click()
    heading(driver, "Sign in")
    email, password = create_user(browser_stack, "ops")
    sign_in(driver, url, email, password)
    heading(driver, "Operations")
    models = Client(url).login(email, password).get("/api/v1/ops/models").json()
    wait(driver).until(EC.presence_of_element_located((By.CSS_SELECTOR, "table")))
    main_text = driver.find_element(By.TAG_NAME, "main").text
    for family in ("classifier", "plans", "form", "pose"):
        assert f"{family} (active: {models[family]['active']})" in main_text
    form = driver.find_element(By.CSS_SELECTOR, "form[aria-label='Reprocess']")
    patient_id = patient.get("/api/v1/me").json()["id"]
    fill(driver, form, {"user_id": patient_id})
    assert_labelled(driver)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(driver, 120).until(EC.text_to_be_present_in_element(
        (By.CSS_SELECTOR, "form[aria-label='Reprocess'] .notice"), "Batch succeeded"))
    screenshots(driver, "ops")
    assert js_errors(driver) == []
