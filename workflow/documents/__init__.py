"""Documents of the workflow rendered to PDF with WeasyPrint, laid out per Decree 30/2020.

Templates get plain values only and are autoescaped; the renderer fetches nothing but the bundled
assets in this folder (fonts, stylesheet), so a record field holding markup or a URL prints as
text and reaches nothing. The font is bundled so that output is the same on every machine.
"""

from __future__ import annotations

import datetime as dt
from functools import cached_property
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

ASSETS = Path(__file__).resolve().parent


class AssetsOnly(URLFetcher):
    """Fetches files inside the bundled assets folder; refuses and remembers everything else."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols={"file"}, allow_redirects=False)
        self.refused: list[str] = []

    def fetch(self, url, headers=None):
        """Only file:// URLs that resolve inside the assets folder."""
        if url.startswith("file://"):
            path = Path(url.removeprefix("file://").split("?")[0]).resolve()
            if path.is_relative_to(ASSETS) and path.is_file():
                return super().fetch(url, headers)
        self.refused.append(url)
        raise ValueError(f"refused to fetch {url}")


def vn_date_line(place: str, day: dt.date) -> str:
    """'Hà Nội, ngày 06 tháng 11 năm 2017' (Decree 30/2020: day and month zero-padded)."""
    return f"{place}, ngày {day:%d} tháng {day:%m} năm {day:%Y}"


class Renderer:
    """Renders the document templates of this folder to PDF bytes."""

    def __init__(self) -> None:
        self.env = Environment(loader=FileSystemLoader(ASSETS / "templates"),
                               autoescape=select_autoescape(default=True),
                               undefined=StrictUndefined)
        self.env.filters["date_line"] = vn_date_line

    @cached_property
    def _fonts(self) -> FontConfiguration:
        return FontConfiguration()

    def render(self, template: str, context: dict, fetcher: AssetsOnly | None = None) -> bytes:
        """The PDF of one template with a context of plain values."""
        fetcher = fetcher or AssetsOnly()
        html = self.env.get_template(template).render(**context)
        css = CSS(filename=str(ASSETS / "document.css"), font_config=self._fonts,
                  url_fetcher=fetcher)
        document = HTML(string=html, base_url=ASSETS.as_uri() + "/", url_fetcher=fetcher)
        return document.write_pdf(stylesheets=[css], font_config=self._fonts)
