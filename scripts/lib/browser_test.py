"""Drives the workspace and the patient booking page in headless Chromium (Selenium).

Run by scripts/browser-test (which starts the services and `planrouter serve` with the cases of
browser_seed.sql); asserts on what each page says, not only that it answered, so a broken page
fails. With --screenshots DIR it also writes the documentation's PNGs.
"""
import argparse
import os
import sys
import time

from selenium.common.exceptions import WebDriverException
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

STAFF = os.environ["BROWSER_TEST_STAFF_URL"]
PASSWORD = os.environ["BROWSER_TEST_PASSWORD"]


def browser(width, height, phone=False):
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", f"--window-size={width},{height}"):
        options.add_argument(flag)
    if phone:
        # A desktop window cannot be narrower than 500 px; the phone's viewport is emulated instead.
        options.add_experimental_option("mobileEmulation", {"deviceMetrics": {"width": width, "height": height, "pixelRatio": 2}})
    options.binary_location = "/usr/bin/chromium"
    service = Service(executable_path="/usr/bin/chromedriver")
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(30)
    return driver


def text(driver):
    # A page that is still replacing its document can detach the body between finding and
    # reading it (Chrome: "Node with given id does not belong to the document"): read again.
    for attempt in range(5):
        try:
            return driver.find_element(By.TAG_NAME, "body").text
        except WebDriverException:
            if attempt == 4:
                raise
            time.sleep(0.2)


def gone(element):
    """True once the element has left the document. Chrome answers a detached node either with
    StaleElementReference or, mid-navigation, with "Node with given id does not belong to the
    document"; both mean the old page is gone."""
    try:
        element.is_enabled()
        return False
    except WebDriverException:
        return True


def submit(driver, button):
    """Clicks a form's button and waits until the next page has loaded."""
    old = driver.find_element(By.TAG_NAME, "html")
    button.click()
    WebDriverWait(driver, 15).until(lambda _: gone(old))
    WebDriverWait(driver, 15).until(lambda d: d.execute_script("return document.readyState") == "complete")


def expect(condition, what, driver=None):
    if not condition:
        page = text(driver)[:2000] if driver else ""
        sys.exit(f"browser test failed: {what}\n--- page ---\n{page}")
    print(f"ok: {what}")


def shot(driver, directory, name, full_height=True):
    if not directory:
        return
    if full_height:
        # The window's height includes what is not the page; grow it until the page fits.
        for _ in range(3):
            inner = driver.execute_script("return window.innerHeight")
            height = driver.execute_script("return document.documentElement.scrollHeight")
            if height <= inner:
                break
            size = driver.get_window_size()
            driver.set_window_size(size["width"], min(size["height"] + height - inner + 8, 5000))
    if not driver.save_screenshot(os.path.join(directory, name)):
        sys.exit(f"could not write the screenshot {name}")


def workspace(screens):
    d = browser(1280, 900)
    try:
        d.get(STAFF + "/workspace")
        expect("/signin" in d.current_url and "Sign in" in text(d), "an unauthenticated visit lands on the sign-in page", d)
        d.find_element(By.NAME, "login").send_keys("anna")
        d.find_element(By.NAME, "password").send_keys("wrong password!")
        submit(d, d.find_element(By.CSS_SELECTOR, "#signin button"))
        expect("Wrong sign-in name or password" in text(d), "a wrong password shows the error", d)
        d.get(STAFF + "/signin")
        d.find_element(By.NAME, "login").send_keys("anna")
        d.find_element(By.NAME, "password").send_keys(PASSWORD)
        submit(d, d.find_element(By.CSS_SELECTOR, "#signin button"))
        expect(d.current_url.endswith("/workspace") and "My queue" in text(d), "signing in opens the queue", d)
        tasks = d.find_elements(By.CSS_SELECTOR, "#tasks li")
        expect(len(tasks) == 3, f"the queue lists the three open tasks (saw {len(tasks)})", d)
        names = [t.find_element(By.CSS_SELECTOR, ".patient").text for t in tasks]
        # Both surgical and urgent: the older one (Cat, red) first, then Ann; Ben (major) last.
        expect(names == ["Cat O'Neil <b>", "Ann Example", "Ben Sample"], f"most urgent first, names escaped ({names})", d)
        expect("old" in tasks[0].get_attribute("class") and "fresh" in tasks[2].get_attribute("class"), "aging colours", d)
        expect(d.find_element(By.ID, "counts").text.startswith("3 open\n2 urgent"), "the counts at the top", d)
        Select(d.find_element(By.NAME, "tier")).select_by_value("major")
        submit(d, d.find_element(By.CSS_SELECTOR, ".filters button"))
        expect([t.text for t in d.find_elements(By.CSS_SELECTOR, "#tasks .patient")] == ["Ben Sample"], "the tier filter", d)
        d.get(STAFF + "/workspace")
        shot(d, screens, "queue.png")
        d.set_window_size(1280, 900)

        submit(d, d.find_element(By.PARTIAL_LINK_TEXT, "Ann Example"))
        body = text(d)
        expect("Ann Example" in body and "+15550100001" in body and "ann@example.org" in body, "the case page shows the contact details", d)
        expect(d.find_element(By.CSS_SELECTOR, "#contact a[href^='tel:']").get_attribute("href") == "tel:+15550100001", "a tel: link", d)
        expect("implant body" in body and "$2,450.00" in body and "$980.00" in body, "procedures, fees and the patient portion", d)
        expect("surgical" in body and "D6010 in D6000-D6199" in body, "the tier and its classification reasons", d)
        expect("120 min" in body and "$500.00" in body, "chair time and deposit", d)
        expect("the patient did not book" in body, "why it escalated", d)
        expect(len(d.find_elements(By.CSS_SELECTOR, "#history tr")) >= 4, "the ladder's history", d)
        expect(len(d.find_elements(By.CSS_SELECTOR, "#messages tr")) == 3 and "delivered" in body, "the messages sent", d)
        expect("link valid until" in d.find_element(By.ID, "offers").text, "the offers sent and their outcome", d)
        openings = d.find_elements(By.CSS_SELECTOR, "#book form")
        expect(len(openings) == 3, f"the three held openings are offered for booking (saw {len(openings)})", d)
        shot(d, screens, "case.png")
        d.set_window_size(1280, 900)
        d.find_element(By.CSS_SELECTOR, "#attempt input[name=note]").send_keys("left a voicemail")
        Select(d.find_element(By.CSS_SELECTOR, "#attempt select[name=outcome]")).select_by_value("voicemail")
        submit(d, d.find_element(By.CSS_SELECTOR, "#attempt button"))
        expect("Attempt recorded." in text(d) and "left a voicemail" in text(d), "a call attempt is recorded", d)
        submit(d, d.find_element(By.CSS_SELECTOR, "#book form button"))
        # Ann's case is surgical: its deposit_to_confirm policy holds the time until the deposit is paid.
        expect("Held for the patient until the deposit is paid" in text(d), "booking an opening for the patient", d)
        d.get(STAFF + "/workspace")
        expect("Ann Example" in text(d), "a case held for its deposit stays in the queue", d)

        submit(d, d.find_element(By.PARTIAL_LINK_TEXT, "Ben Sample"))
        Select(d.find_element(By.CSS_SELECTOR, "#resolve select[name=outcome]")).select_by_value("declined")
        submit(d, d.find_element(By.CSS_SELECTOR, "#resolve button"))
        expect("Say why the patient declined." in text(d), "declining needs a reason", d)
        Select(d.find_element(By.CSS_SELECTOR, "#resolve select[name=outcome]")).select_by_value("declined")
        d.find_element(By.CSS_SELECTOR, "#resolve input[name=note]").send_keys("cost; will call back in spring")
        submit(d, d.find_element(By.CSS_SELECTOR, "#resolve button"))
        expect("Task resolved." in text(d) and "Ben Sample" not in text(d), "resolving a task", d)

        d.get(STAFF + "/workspace/dashboard")
        body = text(d)
        expect("Unscheduled accepted production" in body and "Same-day scheduling" in body, "the dashboard's figures", d)
        expect("(default; no target configured)" in body, "the default same-day target is labelled", d)
        expect(len(d.find_elements(By.CSS_SELECTOR, "#aging rect")) >= 1, "the aging bar chart", d)
        shot(d, screens, "dashboard.png")
        d.set_window_size(1280, 900)
        d.get(STAFF + "/workspace")
        submit(d, d.find_element(By.CSS_SELECTOR, ".bar form button"))
        expect("/signin" in d.current_url, "signing out", d)
        d.get(STAFF + "/workspace")
        expect("/signin" in d.current_url, "after signing out the queue needs a sign-in again", d)
    finally:
        d.quit()


def booking_page(screens, link):
    d = browser(390, 844, phone=True)
    try:
        d.get(link)
        body = text(d)
        expect(body.startswith("Hi ") and "pick your appointment" in body, "the booking page greets the patient", d)
        expect("+1555" not in body, "the booking page shows no phone number", d)
        width = d.execute_script("return document.documentElement.scrollWidth")
        expect(width <= 390, f"the booking page fits a 390 px wide phone (scroll width {width})", d)
        buttons = d.find_elements(By.CSS_SELECTOR, "form button[name=reservation_id]")
        expect(len(buttons) >= 1, f"the booking page offers the held openings ({len(buttons)})", d)
        others = d.find_elements(By.CSS_SELECTOR, "form button[name=none_work]")
        expect(
            [o.get_attribute("value") for o in others] == ["later", "call"] and "please call me" in others[1].text,
            "the booking page has 'None of these work: show me later times' and '... please call me'", d)
        shot(d, screens, "booking-phone.png", full_height=False)
        first = [b.text for b in buttons]
        submit(d, others[0])
        body = text(d)
        expect("Here are later times" in body or "There are no later openings" in body, "'Show me later times' answers", d)
        buttons = d.find_elements(By.CSS_SELECTOR, "form button[name=reservation_id]")
        expect(len(buttons) >= 1, "after 'Show me later times' the page still offers openings", d)
        if "Here are later times" in body:
            expect([b.text for b in buttons] != first, "the later times differ from the first ones", d)
        width = d.execute_script("return document.documentElement.scrollWidth")
        expect(width <= 390, f"the later-times page fits a 390 px wide phone (scroll width {width})", d)
        shot(d, screens, "booking-later-times.png", full_height=False)
        submit(d, buttons[0])
        # A case whose tier takes a deposit_to_confirm deposit is held for it; any other is booked at once.
        t = text(d)
        expect("You're booked" in t or ("We're holding this time for you" in t and "deposit" in t), "the patient books from the phone", d)
        d.get(link)
        expect("no longer valid" in text(d), "the used link is refused", d)
    finally:
        d.quit()


def reschedule_page(screens, link):
    d = browser(390, 844, phone=True)
    try:
        d.get(link)
        body = text(d)
        expect("change your appointment" in body and "You're booked for" in body, "the reschedule link shows the booked time", d)
        booked = body[body.index("You're booked for"):].split("\n")[0]
        buttons = d.find_elements(By.CSS_SELECTOR, "form button[name=reservation_id]")
        expect(len(buttons) >= 1, f"the reschedule page offers other openings ({len(buttons)})", d)
        width = d.execute_script("return document.documentElement.scrollWidth")
        expect(width <= 390, f"the reschedule page fits a 390 px wide phone (scroll width {width})", d)
        shot(d, screens, "booking-reschedule.png", full_height=False)
        chosen = buttons[0].text
        submit(d, buttons[0])
        t = text(d)
        expect("Your appointment is moved" in t and chosen in t, "the patient moves the appointment from the phone", d)
        expect(d.find_elements(By.CSS_SELECTOR, "a[download='appointment.ics']"), "the moved page offers the updated calendar entry", d)
        shot(d, screens, "booking-moved.png", full_height=False)
        d.get(link)
        t = text(d)
        expect(f"You're booked for {chosen}" in t and booked not in t, "the reschedule link now shows the new time", d)
    finally:
        d.quit()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--screenshots", help="write the documentation's PNGs here")
    parser.add_argument("--link", help="a patient's booking link the offer worker sent")
    parser.add_argument("--reschedule", help="the reschedule link of the booking's confirmation (second phase)")
    args = parser.parse_args()
    if args.screenshots:
        os.makedirs(args.screenshots, exist_ok=True)
    started = time.time()
    if args.reschedule:
        reschedule_page(args.screenshots, args.reschedule)
        print(f"browser reschedule test passed in {time.time() - started:.1f} s")
        sys.exit(0)
    if not args.link:
        parser.error("--link or --reschedule is required")
    workspace(args.screenshots)
    booking_page(args.screenshots, args.link)
    print(f"browser tests passed in {time.time() - started:.1f} s")
