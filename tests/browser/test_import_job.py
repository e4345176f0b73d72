"""A file of records in the browser: the clerk sends it, the next page says it is being imported
and how far, and — with nobody touching it — shows what became of every row once the worker is
done; on a desk and on a phone, neither page scrolling sideways."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shot
from tests.browser.test_sign_in_and_search import sign_in
from tests.conftest import REDIS
from tests.helpers import org
from tests.operations.test_jobs import _work
from tests.records.test_bulk_import import GOOD, HEADER
from workflow.jobs import queues

pytestmark = pytest.mark.browser


def _send(page, db, tmp_path, text: str) -> None:
    path = tmp_path / "tep.csv"
    path.write_text(text, encoding="utf-8")
    page.goto("/persons/import")
    page.get_by_label("Cơ sở giam giữ").select_option(str(org(db, "TTG-HANOI").id))
    page.get_by_label("Tệp (CSV, XLSX hoặc JSON)").set_input_files(str(path))
    page.get_by_role("button", name="Nhập", exact=True).click()


def _fits_a_phone(page) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_the_page_of_an_import_finishes_by_itself(app, page, backend, db, queue_name,
                                                  tmp_path):
    # This installation's jobs go on Redis, for a worker to take.
    dispatcher = queues.OnRedis(REDIS, queue_name)
    app.extensions["custody_jobs"] = dispatcher
    app.extensions["custody_sessions"].kw["info"][queues.DISPATCHER] = dispatcher

    sign_in(page, "clerk.hanoi")
    _send(page, db, tmp_path, HEADER + "\n".join(GOOD))
    expect(page.get_by_role("heading", name="Tệp đang được nhập")).to_be_visible()
    expect(page.get_by_text("Đã kiểm tra 0 trên 3 dòng.")).to_be_visible()
    shot(page, f"import-job-{backend}")
    _fits_a_phone(page)
    shot(page, f"import-job-phone-{backend}")

    _work(app, queue_name)  # the worker takes it; the page is not touched
    expect(page.get_by_role("heading", name="Đã đăng ký 3 người từ tệp tep.csv.")).to_be_visible(
        timeout=15_000)
    expect(page.get_by_role("heading", name="Tệp đang được nhập")).to_have_count(0)

    page.set_viewport_size({"width": 1366, "height": 900})
    bad = GOOD[0].replace("Lê Văn Nhập", "Lê Văn Khác").replace("001090123451", "001090123461")
    _send(page, db, tmp_path, HEADER + bad + "\n" + GOOD[1].replace(",female,", ",không rõ,"))
    _work(app, queue_name)
    expect(page.get_by_role("heading", name="Chưa nhập bản ghi nào: 1 trong 2 dòng bị từ chối")
           ).to_be_visible(timeout=15_000)
    expect(page.get_by_role("cell", name="sex")).to_be_visible()
    shot(page, f"import-report-{backend}")
    _fits_a_phone(page)
    shot(page, f"import-report-phone-{backend}")
