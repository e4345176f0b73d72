"""The pages of an extract, measured in the PDF itself (pdftotext -bbox): the signature block
never stands alone on a page without body text above it, and no page but the last is nearly
empty, whether the extract is rendered whole or in parts, whatever its length."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.worlds import arrange, prepare
from workflow.documents import extracts, issuing
from workflow.models import RecordDocument
from workflow.records.enums import DocumentCategory

# A4 in points, with the stylesheet's top and bottom margins (20 mm): the body lies between.
PAGE_HEIGHT = 841.89
MARGIN = 20 / 25.4 * 72
_WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">'
                   r"(.*?)</word>")
_PAGE = re.compile(r"<page [^>]*>(.*?)</page>", re.S)


@dataclass(frozen=True)
class Page:
    """The body words of one page, top to bottom, with their top and bottom edges."""

    words: list[tuple[float, float, str]]

    @property
    def fill(self) -> float:
        """How much of the body's height the text reaches down to (0 to 1)."""
        bottom = max((y for _, y, _ in self.words), default=MARGIN)
        return (bottom - MARGIN) / (PAGE_HEIGHT - 2 * MARGIN)

    def top_of(self, word: str) -> float | None:
        """The top of the first occurrence of a word, if the page holds it."""
        return next((top for top, _, text in self.words if text == word), None)

    @property
    def text(self) -> str:
        return " ".join(text for _, _, text in self.words)


def pages_of(pdf: bytes, tmp_path: Path) -> list[Page]:
    """The body of each page: no page number (top margin), no footer (bottom margin), no
    diagonal watermark (-nodiag)."""
    path = tmp_path / "layout.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-bbox", "-nodiag", str(path), "-"], check=True,
                         capture_output=True, text=True).stdout
    pages = []
    for body in _PAGE.findall(out):
        found = sorted((round(float(top)), float(left), float(bottom), unescape(text))
                       for left, top, bottom, text in _WORD.findall(body)
                       if float(top) > MARGIN - 2 and float(bottom) < PAGE_HEIGHT - MARGIN + 2)
        pages.append(Page([(top, bottom, text) for top, _, bottom, text in found]))
    return pages


def layout_problems(pages: list[Page]) -> list[str]:
    """What is wrong with the pages: a signature page with no body text above the block, or a
    page before the last less than a quarter full."""
    problems = []
    last = pages[-1]
    signoff = last.top_of("Nơi")
    if signoff is None or not any(top < signoff - 1 for top, _, _ in last.words):
        problems.append(f"page {len(pages)} of {len(pages)} holds only the signature block: "
                        f"{last.text[:80]!r}")
    for number, page in enumerate(pages[:-1], 1):
        if page.fill < 0.25:
            problems.append(f"page {number} of {len(pages)} is {page.fill:.0%} full: "
                            f"{page.text[:80]!r}")
    return problems


def add_orders(db, episode, start: int, count: int) -> None:
    """`count` more orders in the person's record (granted: each is a row of the extract)."""
    db.add_all([RecordDocument(person_id=episode.person_id, episode_id=episode.id,
                               category=DocumentCategory.ORDERS, title=f"Quyết định số {i}",
                               number=f"{i}/QĐ", issued_on=episode.start_date,
                               issuer="Cơ quan điều tra") for i in range(start, start + count)])
    db.flush()


def laid_out(world, db, tmp_path, monkeypatch, sizes: list[tuple[int, int]]
             ) -> dict[tuple[int, int], list[str]]:
    """One request's extract prepared again (each preparation supersedes the last), unsigned
    (the layout is what is measured), for each (rows added to the record, lines a part): the
    problems found in each."""
    monkeypatch.setattr(issuing, "_sign", lambda *args, **kwargs: (
        args[3], SimpleNamespace(fingerprint="unsigned")))
    person, request = arrange(world, db)
    episode = person.episodes[-1]
    found, added = {}, 0
    for rows, part_lines in sizes:
        add_orders(db, episode, added, rows - added)
        added = rows
        monkeypatch.setattr(extracts, "PART_LINES", part_lines)
        document = prepare(world, request.id)
        pages = pages_of(document.pdf, tmp_path)
        assert len(pages) == document.pages
        found[rows, part_lines] = layout_problems(pages)
    return found


def test_the_signature_block_never_stands_alone_on_its_page(world, db, tmp_path, backend,
                                                            monkeypatch):
    if backend != "sqlite":
        pytest.skip("the layout does not depend on the database")
    # One row more at a time across the end of the second page: the signature block and the
    # text above it meet the page's end at every position.
    found = laid_out(world, db, tmp_path, monkeypatch,
                     [(rows, extracts.PART_LINES) for rows in range(16)])
    assert {size: problems for size, problems in found.items() if problems} == {}


def test_the_parts_of_a_long_extract_flow_without_near_empty_pages(world, db, tmp_path,
                                                                   backend, monkeypatch):
    if backend != "sqlite":
        pytest.skip("the layout does not depend on the database")
    # Parts of a page and a little more or less: a part's end falls anywhere on a page.
    found = laid_out(world, db, tmp_path, monkeypatch,
                     [(80, lines) for lines in (32, 36, 40, 44)])
    assert {size: problems for size, problems in found.items() if problems} == {}
