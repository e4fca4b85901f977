"""Screenshots of every console page for docs/console.md, from a running console.

    sksync demo --keep            # prints the address and two demo logins
    python scripts/console_screenshots.py URL EDITOR_PASSWORD OPERATOR_PASSWORD [FOLDER]

Uses Debian's headless Chromium (tests/support/browser.py); writes small PNGs.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.browser import By, chromium, wait_for


def main(base: str, editor: str, operator: str, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with chromium() as driver:
        def shot(name: str) -> None:
            driver.save_screenshot(str(folder / f"{name}.png"))

        def sign_in(name: str, password: str) -> None:
            driver.delete_all_cookies()
            driver.get(f"{base}/login")
            driver.find_element(By.ID, "name").send_keys(name)
            driver.find_element(By.ID, "password").send_keys(password)
            driver.find_element(By.ID, "sign-in").click()
            wait_for("signed in", lambda: "/login" not in driver.current_url)

        driver.get(f"{base}/login")
        shot("login")
        sign_in("operator", operator)
        driver.get(f"{base}/ops")
        wait_for("lag rows", lambda: driver.find_elements(By.CSS_SELECTOR, "#lag tbody tr"))
        shot("operations")
        driver.get(f"{base}/dead-letters")
        shot("dead-letters")
        sign_in("editor", editor)
        for page in ("conflicts", "matches"):
            driver.get(f"{base}/{page}")
            shot(page)
        driver.get(f"{base}/fiches?q=Oudenaarde")
        shot("search")
        links = driver.find_elements(By.CSS_SELECTOR, "#results a")
        if links:
            links[0].click()
            wait_for("the fiche", lambda: driver.find_elements(By.ID, "history"))
            shot("fiche")
        driver.get(f"{base}/lang/en?next=/conflicts")
        shot("conflicts-en")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3],
         Path(sys.argv[4] if len(sys.argv) > 4 else "docs/console"))
