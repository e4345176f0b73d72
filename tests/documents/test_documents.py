"""PDF documents: exact Vietnamese text in the bundled font, and nothing fetched from outside."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest

from workflow.documents.rendering import ASSETS, AssetsOnly, Renderer, vn_date_line

CONTEXT = {"issuer_parent": "BỘ CÔNG AN", "issuer": "Trung tâm CSDL", "place": "Hà Nội",
           "addressee": "Cơ quan quản lý cơ sở dữ liệu", "categories": ["Các lần tạm giữ"],
           "printed_on": dt.date(2017, 11, 6)}


def text_of(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout


def fonts_of(pdf: bytes, tmp_path: Path) -> set[str]:
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    lines = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True,
                           text=True).stdout.splitlines()[2:]
    return {line.split()[0].split("+", 1)[1] for line in lines}


def test_the_form_prints_exact_vietnamese_in_the_bundled_font_only(tmp_path):
    pdf = Renderer().render("request_form.html", CONTEXT)
    text = " ".join(text_of(pdf, tmp_path).split())
    for expected in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
                     "PHIẾU ĐỀ NGHỊ CUNG CẤP THÔNG TIN", "Nghị định số 121/2017/NĐ-CP",
                     "In từ hệ thống ngày 06/11/2017", "Các lần tạm giữ"):
        assert expected in text, expected
    assert fonts_of(pdf, tmp_path) <= {"Liberation-Serif", "Liberation-Serif-Bold",
                                       "Liberation-Serif-Italic", "Liberation-Serif-BoldItalic"}


def test_markup_and_urls_in_fields_print_as_text_and_fetch_nothing(tmp_path):
    hostile = ('<img src="file:///etc/passwd"> http://198.51.100.7/x.png '
               '<link rel="stylesheet" href="http://198.51.100.7/x.css">')
    fetcher = AssetsOnly()
    pdf = Renderer().render("request_form.html", CONTEXT | {"addressee": hostile}, fetcher)
    text = " ".join(text_of(pdf, tmp_path).split())
    assert '<img src="file:///etc/passwd">' in text and "http://198.51.100.7/x.png" in text
    assert fetcher.refused == []


@pytest.mark.parametrize("url", ["file:///etc/passwd", "http://198.51.100.7/x.png",
                                 f"{ASSETS.as_uri()}/../../pyproject.toml",
                                 "data:text/plain,hello"])
def test_the_fetcher_refuses_anything_but_bundled_assets(url):
    fetcher = AssetsOnly()
    with pytest.raises(ValueError, match="refused"):
        fetcher.fetch(url)
    assert fetcher.refused == [url]


def test_bundled_font_is_served_to_the_renderer():
    font = (ASSETS / "fonts" / "LiberationSerif-Regular.ttf").as_uri()
    response = AssetsOnly().fetch(font)
    assert response is not None


def test_blank_form_download_fits_one_page(client, auth, tmp_path):
    auth.login("requester.vks")
    response = client.get("/requests/form.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "PHIẾU ĐỀ NGHỊ CUNG CẤP THÔNG TIN" in text_of(response.data, tmp_path)
    info = subprocess.run(["pdfinfo", str(tmp_path / "doc.pdf")], check=True,
                          capture_output=True, text=True).stdout
    assert "Pages:           1" in info


def test_place_and_date_line_is_zero_padded_as_decree_30_requires():
    assert vn_date_line("Hà Nội", dt.date(2017, 11, 6)) == "Hà Nội, ngày 06 tháng 11 năm 2017"
