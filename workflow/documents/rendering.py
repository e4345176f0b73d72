"""Documents of the workflow rendered to PDF with WeasyPrint, laid out per Decree 30/2020.

Templates get plain values only and are autoescaped; the renderer fetches nothing but the bundled
assets in this folder (fonts, stylesheet) and the PNG images a document carries inline (the
signature and the seal), so a record field holding markup or a URL prints as text and reaches
nothing. The font is bundled so that output is the same on every machine.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from workflow.documents.contents import Section, carried_over, joined

# WeasyPrint and pypdf load in a second: imported when a document is first rendered, so that a
# command or a worker that renders nothing starts without them.
if TYPE_CHECKING:
    from weasyprint.document import Document, Page
    from weasyprint.text.fonts import FontConfiguration
    from weasyprint.urls import URLFetcher

ASSETS = Path(__file__).resolve().parent
PNG_DATA = "data:image/png;base64,"
IMAGE_CACHE = 64


@cache
def _assets_only() -> type:
    """The fetcher class, made on first use (it subclasses WeasyPrint's)."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class AssetsOnly(URLFetcher):
        """Fetches files inside the bundled assets folder; refuses and remembers everything
        else."""

        def __init__(self) -> None:
            super().__init__(allowed_protocols={"file"}, allow_redirects=False)
            self.refused: list[str] = []

        def fetch(self, url, headers=None):
            """Only file:// URLs that resolve inside the assets folder, and PNG images carried
            in the document itself (a signature's, a seal's: `data:image/png;base64,`)."""
            if url.startswith(PNG_DATA):
                try:
                    body = base64.b64decode(url.removeprefix(PNG_DATA), validate=True)
                except binascii.Error as error:
                    raise ValueError("refused a malformed image") from error
                return URLFetcherResponse(url, body, {"Content-Type": "image/png"})
            if url.startswith("file://"):
                path = Path(url.removeprefix("file://").split("?")[0]).resolve()
                if path.is_relative_to(ASSETS) and path.is_file():
                    return super().fetch(url, headers)
            self.refused.append(url)
            raise ValueError(f"refused to fetch {url}")

    return AssetsOnly


def __getattr__(name: str):
    """`AssetsOnly`, the fetcher class, made when first asked for (PEP 562)."""
    if name == "AssetsOnly":
        return _assets_only()
    raise AttributeError(name)


def vn_date_line(place: str, day: dt.date) -> str:
    """'Hà Nội, ngày 06 tháng 11 năm 2017' (Decree 30/2020: day and month zero-padded)."""
    return f"{place}, ngày {day:%d} tháng {day:%m} năm {day:%Y}"


def css_string(value: object) -> Markup:
    """A CSS string literal of any text: everything but letters and digits is written as a
    six-digit hex escape, so nothing can close the string or the <style> element it sits in."""
    escaped = "".join(c if c.isalnum() else f"\\{ord(c):06x}" for c in str(value))
    return Markup(f'"{escaped}"')  # noqa: S704 - only letters, digits and hex escapes remain


# A number with its symbol ("571/LTG", "12/ĐY-CSĐT") is one word to the reader; a table cell
# would otherwise break it after the slash. Only short, number-shaped words: a long one (a URL)
# kept whole would run off the page.
_NUMBER = re.compile(r"(?<!\S)[^\s/]{1,15}(?:/[^\s/]{1,20}){1,3}(?!\S)")


def unbroken_numbers(value: object) -> Markup:
    """The text escaped, with each word holding a slash kept on one line."""
    text = str(escape(value))
    return Markup(_NUMBER.sub(lambda m: f'<span class="nobr">{m.group(0)}</span>', text))  # noqa: S704 - escaped above


class Renderer:
    """Renders the document templates of this folder to PDF bytes."""

    def __init__(self) -> None:
        self.env = Environment(loader=FileSystemLoader(ASSETS / "templates"),
                               autoescape=select_autoescape(default=True),
                               undefined=StrictUndefined)
        self.env.filters["date_line"] = vn_date_line
        self.env.filters["css_string"] = css_string
        self.env.filters["unbroken"] = unbroken_numbers

    @cached_property
    def _images(self) -> dict:
        # The seal and signature images a renderer embeds again and again, decoded once.
        return {}

    @cached_property
    def _fonts(self) -> FontConfiguration:
        from weasyprint.text.fonts import FontConfiguration

        return FontConfiguration()

    def html(self, template: str, context: dict) -> str:
        """The HTML of one template with a context of plain values (autoescaped)."""
        return self.env.get_template(template).render(**context)

    def render(self, template: str, context: dict, fetcher: URLFetcher | None = None) -> bytes:
        """The PDF of one template with a context of plain values."""
        return self.render_pages(template, context, fetcher).pdf

    def render_pages(self, template: str, context: dict,
                     fetcher: URLFetcher | None = None) -> Rendered:
        """The PDF and its page count."""
        document = self._layout(template, context, fetcher)
        return Rendered(_written(document.pages, document), len(document.pages))

    def _layout(self, template: str, context: dict, fetcher: URLFetcher | None = None):
        from weasyprint import CSS, HTML

        fetcher = fetcher or _assets_only()()
        css = CSS(filename=str(ASSETS / "document.css"), font_config=self._fonts,
                  url_fetcher=fetcher)
        html = HTML(string=self.html(template, context), base_url=ASSETS.as_uri() + "/",
                    url_fetcher=fetcher)
        if len(self._images) > IMAGE_CACHE:  # a bound: one seal per body, one per signer
            self._images.clear()
        return html.render(stylesheets=[css], font_config=self._fonts, cache=self._images)

    def render_parts(self, template: str, context: dict, parts: list[list[Section]],
                     progress: Callable[[int, int], None] | None = None) -> Rendered:
        """A long document rendered part by part (`sections` of each part, the first with the
        heading, the last with the signature) and joined into one PDF; page numbers run on.

        The parts flow: what a part's last page holds is laid out again at the start of the
        next part (`carried_over`), so that no page but the document's last ends short."""
        if len(parts) == 1:
            return self.render_pages(template, context | {"sections": parts[0]})
        from pypdf import PdfReader, PdfWriter

        writer = PdfWriter()
        pages, carried = 0, []
        title = template
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            sections = joined(carried, part)
            document = self._layout(template, context | {
                "sections": sections, "first": index == 0, "last": last,
                "page_offset": pages + 1})
            kept, carried = document.pages, []
            if not last and len(kept) > 1:
                carried = carried_over(sections, _units(kept[-1]), _units(kept[-2]))
                if carried:
                    kept = kept[:-1]
            reader = PdfReader(io.BytesIO(_written(kept, document)))
            if index == 0 and reader.metadata and reader.metadata.title:
                title = reader.metadata.title  # the document's name and number, as one part has
            writer.append(reader)
            pages += len(kept)
            if progress is not None:  # the page waiting for a long extract shows how far it is
                progress(index + 1, len(parts))
        writer.add_metadata({"/Title": title, "/Producer": "custody"})
        out = io.BytesIO()
        writer.write(out)
        return Rendered(out.getvalue(), pages)

    def template_source(self, template: str) -> str:
        """The template and everything it includes, with the stylesheet: what a version covers."""
        names = [template, *sorted(n for n in self.env.list_templates()
                                   if n.startswith("_"))]
        parts = [f"--- {n}\n{(ASSETS / 'templates' / n).read_text('utf-8')}" for n in names]
        parts.append(f"--- document.css\n{(ASSETS / 'document.css').read_text('utf-8')}")
        return "\n".join(parts)

    def template_version(self, template: str) -> tuple[str, str]:
        """`name@hash` and the source it hashes: the version changes whenever the template, a
        shared partial or the stylesheet does."""
        source = self.template_source(template)
        digest = hashlib.sha256(source.encode()).hexdigest()[:16]
        return f"{template.removesuffix('.html')}@{digest}", source


def _units(page: Page) -> list[str]:
    """The ids of the units of a page (sections, table rows: see `contents.carried_over`), top
    to bottom; a unit split across two pages is on both."""
    return [name for name, _ in sorted(page.anchors.items(), key=lambda item: item[1][1])]


def _written(pages: list[Page], document: Document) -> bytes:
    """The PDF of these pages of a laid-out document; the units' ids are for measuring the
    layout, not destinations in the file."""
    for page in pages:
        page.anchors.clear()
    return document.copy(pages).write_pdf()


@dataclass(frozen=True)
class Rendered:
    """A rendered PDF and its number of pages."""

    pdf: bytes
    pages: int
