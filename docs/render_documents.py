"""Render the demo's issued documents to the PNGs in docs/ (to look at them, page by page).

    .venv/bin/python docs/render_documents.py

Builds the demo on a scratch SQLite database (`custody init`, `custody demo`), takes its released
extract and its letters, and writes each page at 70 dpi (`extract.png`, `extract-page2.png`…)
with poppler's pdftoppm.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        env = os.environ | {"DATABASE_URL": f"sqlite:///{scratch}/demo.db"}
        for command in (["init"], ["demo", "--if-empty"]):
            subprocess.run([BIN / "custody", *command], env=env, check=True,
                           capture_output=True)
        from sqlalchemy import select

        from workflow.db import make_engine, make_session_factory
        from workflow.documents.enums import IssuedKind, IssuedState
        from workflow.models import IssuedDocument

        sessions = make_session_factory(make_engine(env["DATABASE_URL"]))
        with sessions() as session:
            wanted = {IssuedKind.EXTRACT: "extract", IssuedKind.CONSENT: "consent-letter",
                      IssuedKind.REFUSAL: "refusal", IssuedKind.RETURN: "return-notice"}
            for kind, name in wanted.items():
                document = session.scalars(select(IssuedDocument).where(
                    IssuedDocument.kind == kind, IssuedDocument.state == IssuedState.RELEASED)
                    .order_by(IssuedDocument.id)).first()
                if document is None:
                    print(f"no released {kind.value} in the demo")
                    continue
                pdf = Path(scratch) / f"{name}.pdf"
                pdf.write_bytes(document.pdf)
                for page in range(1, document.pages + 1):
                    stem = name if page == 1 else f"{name}-page{page}"
                    subprocess.run(["pdftoppm", "-r", "70", "-png", "-singlefile", "-f",
                                    str(page), "-l", str(page), str(pdf), str(HERE / stem)],
                                   check=True)
                print(f"{name}: {document.number}, {document.pages} page(s)")


if __name__ == "__main__":
    main()
