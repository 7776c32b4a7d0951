#!/usr/bin/python3
"""console_cluster_browser.py — the console's session in a cluster, in a real browser (headless
Chromium driven by Selenium): the user logs in through the balancer, opens pages through it (the
balancer spreads them over the nodes) and on every node directly (the browser sends the same cookie:
cookies are per host, not per port); logout through the balancer; the old session cookie, put back,
opens nothing on any node any more.

Env: LB (the balancer's URL), NODES (the nodes' URLs, space-separated), USER, PASSWORD.
Prints one line per assertion: "PASS|what" or "FAIL|what|detail"; exit 0 unless the browser broke.
Run with Debian's /usr/bin/python3 (python3-selenium).
"""
import os
import sys

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

E = os.environ
LB, NODES, USER, PASSWORD = E["LB"].rstrip("/"), E["NODES"].split(), E["USER"], E["PASSWORD"]


def report(ok, what, detail=""):
    print(f"PASS|{what}" if ok else f"FAIL|{what}|{detail}".replace("\n", " ")[:1500], flush=True)


o = Options()
o.binary_location = "/usr/bin/chromium"
for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900", "--disable-dev-shm-usage"):
    o.add_argument(arg)
o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
d = None
errors = []


def go(url):
    d.get(url)
    errors.extend(e.get("message", "") for e in d.get_log("browser") if e.get("level") == "SEVERE")
    return d.find_element(By.TAG_NAME, "body").text


try:
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
    d.set_page_load_timeout(30)
    go(LB + "/login")
    d.find_element(By.NAME, "username").send_keys(USER)
    d.find_element(By.NAME, "password").send_keys(PASSWORD)
    old = d.find_element(By.TAG_NAME, "html")
    d.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    WebDriverWait(d, 20).until(EC.staleness_of(old))
    report(f"Hello, {USER}" in d.find_element(By.TAG_NAME, "body").text, "the user logs in through the balancer",
           d.current_url)
    pages = ["/", "/activity", "/tokens", "/credentials", "/setup", "/", "/activity", "/tokens", "/setup"]
    bad = []
    for p in pages:
        go(LB + p)
        if d.current_url.endswith("/login") or USER not in d.find_element(By.TAG_NAME, "header").text:
            bad.append(p)
    report(not bad, f"{len(pages)} pages in a row through the balancer open with the session", bad)
    for node in NODES:
        text = go(node + "/")
        report(f"Hello, {USER}" in text and not d.current_url.endswith("/login"),
               f"the same browser session opens the overview on {node} directly", d.current_url)
    cookie = d.get_cookie("tollgate_session")
    report(cookie is not None and cookie.get("httpOnly") and cookie.get("sameSite") == "Strict",
           "the session cookie is HttpOnly and SameSite=Strict", cookie)
    go(LB + "/")
    old = d.find_element(By.TAG_NAME, "html")
    d.find_element(By.CSS_SELECTOR, "form.logout button").click()
    WebDriverWait(d, 20).until(EC.staleness_of(old))
    report(d.current_url.endswith("/login"), "logout through the balancer leads to the login page", d.current_url)
    for node in NODES:
        go(node + "/login")
        if cookie:
            d.add_cookie({k: cookie[k] for k in ("name", "value", "path") if k in cookie})
        go(node + "/")
        report(d.current_url.endswith("/login"), f"the old session cookie, put back, opens nothing on {node}", d.current_url)
    report(not errors, "no errors in the browser's console log", errors[:5])
except WebDriverException as e:
    report(False, "the browser session ran to the end", str(e)[:800])
finally:
    if d is not None:
        try:
            d.quit()
        except Exception:
            pass
sys.exit(0)
