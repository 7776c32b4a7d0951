#!/usr/bin/python3
"""console_browser.py — the web console in a real browser (headless Chromium driven by Selenium).

A user logs in, reads their meters, creates a token and skopeo pulls with it; the usage page shows
the pull; the token is revoked in the browser and the next pull is refused; the user stores their
own upstream login and pulls a private image; an admin changes the user's plan (the overview shows
the new limit after a reload) and disables the user (the session ends). Screenshots of each page,
desktop and a 390-px phone, must not be blank; the browser log must have no errors.

Env: BASE (console URL), MIRROR (host:port for skopeo), USER, PASSWORD, ADMIN, ADMIN_PASSWORD (an
admin: `user set --role admin`), HUB_USER, HUB_PASSWORD (the upstream account that may pull
private/app), OUT (screenshots).
Prints one line per assertion: "PASS|what" or "FAIL|what|detail"; exit 0 unless the browser broke.
Run with Debian's /usr/bin/python3 (python3-selenium, python3-pil).
"""
import os
import subprocess
import sys
import tempfile
import time

from PIL import Image
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

E = os.environ
BASE, MIRROR, USER, PASSWORD = E["BASE"].rstrip("/"), E["MIRROR"], E["USER"], E["PASSWORD"]
OUT = E["OUT"]
os.makedirs(OUT, exist_ok=True)
failures = 0


def report(ok, what, detail=""):
    global failures
    if ok:
        print(f"PASS|{what}", flush=True)
    else:
        failures += 1
        print(f"FAIL|{what}|{detail}".replace("\n", " ")[:1500], flush=True)
    return ok


def skopeo(creds, ref, dest):
    cmd = ["skopeo", "copy", "-q", "--src-tls-verify=false", "--src-creds", creds, f"docker://{MIRROR}/{ref}", f"dir:{dest}"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    return p.returncode, (p.stdout + p.stderr)[-400:]


def not_blank(path):
    """A screenshot with content: many colours, not one flat fill."""
    with Image.open(path) as im:
        colours = im.convert("RGB").getcolors(maxcolors=1 << 20)
    return colours is None or len(colours) >= 8


def browser():
    o = Options()
    o.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900", "--disable-dev-shm-usage"):
        o.add_argument(a)
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    b = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
    b.set_page_load_timeout(30)
    return b


d = browser()  # the user's browser; the admin's is `a`, made when needed
a = None
console_errors = []


def collect_log(b=None):
    for entry in (b or d).get_log("browser"):
        if entry.get("level") == "SEVERE":
            console_errors.append(entry.get("message", ""))


def login(b, user, password):
    b.get(BASE + "/login")
    b.find_element(By.NAME, "username").send_keys(user)
    b.find_element(By.NAME, "password").send_keys(password)
    submit(b.find_element(By.CSS_SELECTOR, "main form button[type=submit]"), b=b)


def shots(name, b=None):
    global d
    user_browser = d
    if b is not None:
        d = b
    try:
        shots_of(name)
    finally:
        d = user_browser


def shots_of(name):
    """Desktop and phone screenshots of the current page; both must show something."""
    for label in ("desktop", "phone"):
        if label == "phone":  # a desktop window can't be that narrow: emulate the phone's viewport
            d.execute_cdp_cmd(
                "Emulation.setDeviceMetricsOverride", {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})
            time.sleep(0.2)
            width = d.execute_script("return document.documentElement.clientWidth")
            wide = d.execute_script(
                "var w = document.documentElement.clientWidth, n = 0;"
                "document.querySelectorAll('body *').forEach(function (e) { if (e.getBoundingClientRect().right > w + 1) n++; });"
                "return n;")
            report(width == 390 and wide == 0, f"{name} fits a 390-px phone (no element wider than the screen)", f"width {width}, {wide} wider")
        path = os.path.join(OUT, f"{name}-{label}.png")
        d.save_screenshot(path)
        report(not_blank(path), f"screenshot {name} ({label}) is not blank", path)
    d.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    collect_log()


def go(path):
    d.get(BASE + path)
    collect_log()


def submit(button, confirm=False, b=None):
    """Clicks a form's button and waits for the next page."""
    b = b or d
    old = b.find_element(By.TAG_NAME, "html")
    button.click()
    if confirm:
        WebDriverWait(b, 10).until(EC.alert_is_present()).accept()
    WebDriverWait(b, 20).until(EC.staleness_of(old))
    WebDriverWait(b, 20).until(EC.presence_of_element_located((By.TAG_NAME, "body")))
    collect_log(b)


def text():
    return d.find_element(By.TAG_NAME, "body").text


try:
    # --- login ---------------------------------------------------------------------------------
    go("/")
    report(d.current_url.endswith("/login"), "without a session / goes to the login page", d.current_url)
    shots("login")
    d.find_element(By.NAME, "username").send_keys(USER)
    d.find_element(By.NAME, "password").send_keys("not-the-password")
    submit(d.find_element(By.CSS_SELECTOR, "main form button[type=submit]"))
    report("Wrong user name or password" in text(), "a wrong password is refused with a message", text()[:200])
    d.find_element(By.NAME, "password").send_keys(PASSWORD)
    submit(d.find_element(By.CSS_SELECTOR, "main form button[type=submit]"))
    report(f"Hello, {USER}" in text(), "logging in shows the overview", text()[:300])
    cookie = d.get_cookie("tollgate_session") or {}
    report(cookie.get("httpOnly") and cookie.get("sameSite") == "Strict", "the session cookie is HttpOnly, SameSite=Strict", cookie)
    pulls = d.find_element(By.ID, "meter-pulls_per_6h").text
    report("of 50" in pulls, "the overview's pull meter shows the plan's limit (of 50)", pulls)
    shots("overview")

    # --- a token, used by skopeo ------------------------------------------------------------------
    go("/tokens")
    d.find_element(By.NAME, "label").send_keys("e2e-skopeo")
    Select(d.find_element(By.NAME, "expires")).select_by_value("30d")
    submit(d.find_element(By.CSS_SELECTOR, "main form.inline button[type=submit]"))
    secret = d.find_element(By.ID, "secret").text.strip()
    report(secret.startswith("tgp_"), "creating a token shows its secret once", secret[:8])
    report(f"docker login '{MIRROR}' -u '{USER}'" in text(), "… with a ready-to-paste docker login", text()[:200])
    shots("token-created")
    tmp = tempfile.mkdtemp(prefix="console-e2e-")
    rc, out = skopeo(f"{USER}:{secret}", "library/alpine:3.19", tmp + "/a")
    report(rc == 0, "skopeo pulls alpine:3.19 through the mirror with the new token", out)

    # --- usage shows it -------------------------------------------------------------------------
    go("/activity")
    rows = [r.text for r in d.find_elements(By.CSS_SELECTOR, "#usage-table tbody tr")]
    report(any("docker.io" in r for r in rows), "the usage page lists the pull (a docker.io row)", rows)
    report(len(d.find_elements(By.CSS_SELECTOR, "svg.chart rect")) > 3, "the usage page draws its charts", "")
    shots("usage")
    go("/")
    pulls = d.find_element(By.ID, "meter-pulls_per_6h").find_element(By.CLASS_NAME, "used").text
    report(pulls.isdigit() and int(pulls) >= 1, "the pull meter counts it", pulls)

    # --- revoke it in the browser -----------------------------------------------------------------
    go("/tokens")
    submit(d.find_element(By.CSS_SELECTOR, "tr[id^=token-] button.danger"), confirm=True)  # confirmed in vanilla JS
    report("e2e-skopeo" not in text(), "revoking in the browser removes the token from the list", text()[:300])
    time.sleep(1.2)  # verified tokens are remembered for a second
    rc, out = skopeo(f"{USER}:{secret}", "library/alpine:3.19", tmp + "/b")
    report(rc != 0, "the next skopeo pull with the revoked token is refused", f"exit {rc}: {out}")

    # --- own upstream login, private image --------------------------------------------------------
    go("/credentials")
    section = d.find_element(By.ID, "upstream-docker.io")
    section.find_element(By.NAME, "username").clear()
    section.find_element(By.NAME, "username").send_keys(E["HUB_USER"])
    section.find_element(By.NAME, "password").send_keys(E["HUB_PASSWORD"])
    submit(section.find_element(By.CSS_SELECTOR, "form.inline button[type=submit]"))
    report(f"Logged in as {E['HUB_USER']}" in text(), "storing an upstream login shows it", text()[:300])
    report(E["HUB_PASSWORD"] not in d.page_source, "… never the password", "")
    shots("credentials")
    time.sleep(1.5)  # the server reloads user settings within a second
    rc, out = skopeo(f"{USER}:{PASSWORD}", "private/app:1.0", tmp + "/p")
    report(rc == 0, "with the stored upstream login the user pulls private/app:1.0", out)
    time.sleep(0.5)
    go("/credentials")
    report("docker.io accepted them at the last pull" in text(), "the credentials page says the upstream accepted them", text()[:400])

    go("/setup")
    report("registry-mirrors" in text(), "the setup page shows the Docker configuration", text()[:200])
    shots("setup")

    # --- the admin, in a browser of their own, changes the plan, then disables the user -----------
    a = browser()
    login(a, E["ADMIN"], E["ADMIN_PASSWORD"])
    a.get(BASE + "/admin/users")
    collect_log(a)
    report(USER in a.find_element(By.ID, "users").text, "admin: the users page lists the user", a.find_element(By.TAG_NAME, "body").text[:300])
    shots("admin-users", a)
    a.find_element(By.LINK_TEXT, USER).click()
    WebDriverWait(a, 20).until(EC.presence_of_element_located((By.ID, "plan")))
    shots("admin-user", a)
    Select(a.find_element(By.CSS_SELECTOR, "#plan select[name=plan]")).select_by_value("small")
    submit(a.find_element(By.CSS_SELECTOR, "#plan button[type=submit]"), b=a)
    report("Plan set to small." in a.find_element(By.TAG_NAME, "body").text, "admin: the user's plan set to small in the browser", "")
    ok = False
    for _ in range(20):
        go("/")
        if "of 7" in d.find_element(By.ID, "meter-pulls_per_6h").text:
            ok = True
            break
        time.sleep(0.25)
    report(ok, "after a reload the overview shows the new plan's limit (of 7)", text()[:300])
    disable = [f for f in a.find_elements(By.CSS_SELECTOR, "#account form") if "/admin/user/disable" in f.get_attribute("action")]
    submit(disable[0].find_element(By.TAG_NAME, "button"), b=a)
    report("is disabled" in a.find_element(By.TAG_NAME, "body").text, "admin: the user disabled in the browser", "")
    a.get(BASE + "/admin/cache")
    collect_log(a)
    body = a.find_element(By.TAG_NAME, "body").text
    report("Served from the cache, 30 days" in body and "docker.io" in a.find_element(By.ID, "cache-upstreams").text,
           "admin: the cache page shows the size, the hit ratio and docker.io's share", body[:300])
    shots("admin-cache", a)
    submit(a.find_element(By.LINK_TEXT, "docker.io/library/alpine"), b=a)
    tags = a.find_element(By.ID, "cache-tags").text
    report("3.19" in tags and "shared" in tags, "admin: the cache browser lists alpine's cached tag 3.19 with its digest", tags[:300])
    row = [r for r in a.find_elements(By.CSS_SELECTOR, "#cache-tags tbody tr") if r.find_element(By.TAG_NAME, "td").text == "3.19"]
    cells = [c.text for c in row[0].find_elements(By.TAG_NAME, "td")] if row else []
    report(len(cells) >= 7 and cells[5] != "—" and cells[6].isdigit() and int(cells[6]) >= 1,
           "admin: the tag's row says when it was last pulled and by how many users", cells)
    shots("admin-repository", a)
    submit(row[0].find_element(By.TAG_NAME, "button"), confirm=True, b=a)
    body = a.find_element(By.TAG_NAME, "body").text
    left = [r.text for r in a.find_elements(By.CSS_SELECTOR, "#cache-tags tbody tr")]
    report("Evicted docker.io/library/alpine:3.19:" in body and not any(t.startswith("3.19 ") for t in left),
           "admin: Evict (confirmed) removes the tag from the cache browser", body[:300])
    a.get(BASE + "/admin/upstreams")
    collect_log(a)
    row = [r.text for r in a.find_elements(By.CSS_SELECTOR, "#upstreams tbody tr") if r.text.startswith("docker.io")]
    report(bool(row) and "—" not in row[0].split("\n")[1].split(" ")[0], "admin: the upstreams page counts docker.io's requests of the last hour", row)
    shots("admin-upstreams", a)
    a.get(BASE + "/admin/audit")
    collect_log(a)
    report("user.disable" in a.find_element(By.ID, "audit").text, "admin: the audit log page lists the disable", "")
    shots("admin-audit", a)
    time.sleep(1.0)
    go("/")
    report(d.current_url.endswith("/login"), "the disabled user's session has ended (back at the login page)", d.current_url)

    collect_log()
    report(not console_errors, "no errors in the browser's console log", console_errors[:5])
except WebDriverException as e:
    report(False, "the browser session ran to the end", str(e)[:800])
finally:
    for b in (d, a):
        try:
            if b is not None:
                b.quit()
        except Exception:
            pass
sys.exit(0)
