"""The bulk import's template, to download and fill in: CSV (UTF-8 with a byte-order mark) and
XLSX (every cell text, the enumerations offered as lists, a sheet saying what each column takes)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from workflow.i18n import N_
from workflow.records.bulk_import import (
    COLUMN_TABLE,
    MAX_ROWS,
    VALUE_TABLES,
    all_words,
    describe,
)


def template_csv() -> bytes:
    """The template as CSV: the Vietnamese headings and the example row, UTF-8 with a byte-order
    mark so that spreadsheet programs read the Vietnamese letters."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c.heading for c in COLUMN_TABLE])
    writer.writerow([c.example for c in COLUMN_TABLE])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def template_xlsx(t: Callable[[str], str]) -> bytes:
    """The template as XLSX: the first sheet with the Vietnamese headings and the example row,
    every cell text (so that a spreadsheet keeps the leading zeros of a number and reads no date
    the American way), the enumerations offered as lists; the second sheet says what each column
    takes. `t` translates the second sheet."""
    # A large library: loaded by the first template asked for, not at start.
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    sheet = book.active
    sheet.title = t(N_("Persons received"))[:31]
    sheet.append([c.heading for c in COLUMN_TABLE])
    sheet.append([c.example for c in COLUMN_TABLE])
    last = MAX_ROWS + 1
    for index, c in enumerate(COLUMN_TABLE, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = max(14, len(c.heading) + 4,
                                                    min(len(c.example) + 2, 40))
        sheet.column_dimensions[letter].number_format = "@"
        for row in (1, 2):
            sheet.cell(row, index).number_format = "@"
        sheet.cell(1, index).font = Font(bold=c.required)
        if c.name in VALUE_TABLES:
            offered = DataValidation(
                type="list", formula1='"' + ",".join(
                    words[0] for words in VALUE_TABLES[c.name].values()) + '"',
                allow_blank=not c.required, errorStyle="warning",
                error=t(N_("one of: %(allowed)s")) % {"allowed": all_words(c.name)})
            offered.add(f"{letter}2:{letter}{last}")
            sheet.add_data_validation(offered)
    sheet.freeze_panes = "A2"
    notes = book.create_sheet(t(N_("Allowed values"))[:31])
    notes.append([t(N_("Column")), t(N_("Name in English")), t(N_("Required")),
                  t(N_("What to write"))])
    for cell in notes[1]:
        cell.font = Font(bold=True)
    for heading, name, required, what in describe(t):
        notes.append([heading, name, t(N_("Yes")) if required else "", what])
    notes.append([])
    notes.append([t(N_("Capitals and diacritics do not matter; the English names and values "
                       "are accepted too. Replace the example row with the persons received, "
                       "one a row."))])
    for letter, width in zip("ABCD", (20, 18, 10, 90), strict=True):
        notes.column_dimensions[letter].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
