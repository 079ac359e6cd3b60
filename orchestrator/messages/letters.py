"""Letters as PDF: the lender's letterhead, the address block where the envelope's window is,
the date, the subject, the body and its disclosures.

A letter is laid out for the envelope its country uses:

- **US and Canada**: US Letter paper tri-folded into a #10 window envelope (window 4½ × 1⅛ in,
  ⅞ in from the left edge and ½ in from the bottom). A third of a letter is ½ in shorter than
  the envelope, so the sheet may settle anywhere over that half inch; the block is printed in
  the band that shows in the window whichever way it settles (2.5 to 3⅙ in from the top).
- **Elsewhere**: A4 folded into a DL window envelope, with the address field of DIN 5008
  form B (20 mm from the left, 45 mm from the top, 85 × 45 mm; the addressee's lines in its
  lower 27.3 mm), which the ISO 269 DL window envelopes of the UK, Australia and China fit.

Fonts are embedded (print-and-mail providers refuse a PDF whose fonts are not): DejaVu Sans
for Latin text and WenQuanYi Micro Hei for Chinese, from Debian's ``fonts-dejavu-core`` and
``fonts-wqy-microhei`` packages, or from the paths given in :class:`LetterFonts`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from babel.dates import format_date
from fpdf import FPDF
from fpdf.enums import WrapMode

from orchestrator.channel_types.addresses import PostalAddress
from orchestrator.errors import ConfigError, Problem

_LATIN_FONTS = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
)
_CJK_FONTS = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/wqy-microhei/wqy-microhei.ttc"),
)
INCH = 25.4


@dataclass(frozen=True, slots=True)
class Window:
    """Where the address block goes on the first page (millimetres from the top left)."""

    paper: str
    left: float
    top: float
    width: float
    height: float


# The window spans 2.5 to 3.625 in below the envelope's top edge; the sheet's top lies 0 to
# 4.125 - 11/3 in below it, so the band always in view is 2.5 to 11/3 - 0.5 in of the sheet.
US_NO10 = Window("letter", left=0.875 * INCH + 3, top=2.5 * INCH, width=4.25 * INCH,
                 height=(11 / 3 - 0.5 - 2.5) * INCH)  # fmt: skip
DIN_5008_B = Window("A4", left=25.0, top=62.7, width=80.0, height=27.3)


def window_for(country: str) -> Window:
    """The envelope window a letter to ``country`` is laid out for."""
    return US_NO10 if country in ("US", "CA") else DIN_5008_B


@dataclass(frozen=True, slots=True)
class LetterFonts:
    """The TrueType fonts letters embed (found in Debian's font folders by default)."""

    latin: Path | None = None
    cjk: Path | None = None

    def resolved(self, *, cjk: bool) -> tuple[Path, Path | None]:
        latin = self.latin or next((p for p in _LATIN_FONTS if p.is_file()), None)
        if latin is None or not latin.is_file():
            raise ConfigError(
                "letter fonts",
                [Problem("latin", "not found: install Debian's fonts-dejavu-core or give "
                         "the path of DejaVuSans.ttf")],
            )  # fmt: skip
        if not cjk:
            return latin, None
        wide = self.cjk or next((p for p in _CJK_FONTS if p.is_file()), None)
        if wide is None or not wide.is_file():
            raise ConfigError(
                "letter fonts",
                [Problem("cjk", "not found: install Debian's fonts-wqy-microhei or give the "
                         "path of a TrueType font with Chinese glyphs")],
            )  # fmt: skip
        return latin, wide


@dataclass(frozen=True, slots=True)
class Letterhead:
    """The lender as the letter's head shows it, and its return address.

    Parameters:
      name: the lender's name.
      lines: its postal address lines (the return address).
      contact: a line of contact details (telephone, web).
      country: where the lender posts from; the recipient's country line is printed only
        for mail abroad.
    """

    name: str
    lines: tuple[str, ...] = ()
    contact: str = ""
    country: str = "US"


@dataclass(frozen=True, slots=True)
class Letter:
    """One letter's content, rendered from a ``letter`` template.

    Parameters:
      recipient: the postal address (the window shows it).
      subject: the subject line.
      body: paragraphs separated by blank lines; the disclosures are its last paragraphs.
      locale: formats the date and picks the font.
      dated: the posting day printed on the letter.
      reference: the lender's account reference ("Ref." line), if any.
    """

    recipient: PostalAddress
    subject: str
    body: str
    locale: str
    dated: date
    reference: str = ""


def letter_pdf(
    letter: Letter,
    letterhead: Letterhead,
    fonts: LetterFonts | None = None,
    *,
    window: Window | None = None,
) -> bytes:
    """The letter as a PDF document (fonts embedded, the same bytes for the same input).

    Parameters:
      fonts: the fonts to embed; Debian's by default.
      window: the paper and window to lay out for; the recipient's country's by default
        (a print-and-mail provider may print one paper size only).
    """
    cjk = letter.locale.lower().startswith("zh") or _has_wide(letter)
    latin, wide = (fonts or LetterFonts()).resolved(cjk=cjk)
    window = window or window_for(letter.recipient.country)
    pdf = FPDF(orientation="portrait", unit="mm", format=window.paper)
    pdf.set_creation_date(datetime(letter.dated.year, letter.dated.month, letter.dated.day))
    pdf.set_title(letter.subject)
    pdf.set_author(letterhead.name)
    # WenQuanYi Micro Hei covers Latin too: a Chinese letter uses that one face throughout.
    family = "wide" if wide is not None else "body"
    pdf.add_font(family, "", str(wide or latin))
    margin = window.left - 5
    pdf.set_margins(left=margin, top=15, right=20)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()

    # The letterhead, top right, clear of the window.
    pdf.set_font(family, size=13)
    pdf.set_xy(pdf.w - 20 - 80, 15)
    pdf.multi_cell(80, 6, letterhead.name, align="R", new_x="LEFT", new_y="NEXT")
    pdf.set_font(family, size=8.5)
    for line in (*letterhead.lines, letterhead.contact):
        if line:
            pdf.set_x(pdf.w - 20 - 80)
            pdf.multi_cell(80, 4, line, align="R", new_x="LEFT", new_y="NEXT")

    # The return address and the recipient, inside the window.
    pdf.set_font(family, size=6.5)
    return_line = " · ".join([letterhead.name, *letterhead.lines])
    pdf.set_xy(window.left, window.top - 4)
    pdf.cell(window.width, 3.5, return_line[:110])
    pdf.set_font(family, size=9.5)
    block = letter.recipient.lines(letterhead.country)
    leading = min(4.3, window.height / max(len(block), 1))
    pdf.set_xy(window.left, window.top)
    for line in block:
        pdf.set_x(window.left)
        pdf.cell(window.width, leading, line, new_x="LEFT", new_y="NEXT")

    # Date, reference, subject and body below the window.
    pdf.set_font(family, size=10)
    pdf.set_xy(margin, window.top + window.height + 12)
    dated = format_date(letter.dated, format="long", locale=letter.locale.replace("-", "_"))
    pdf.cell(0, 5, dated, align="R", new_x="LMARGIN", new_y="NEXT")
    if letter.reference:
        pdf.cell(0, 5, letter.reference, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font(family, size=11.5)
    pdf.multi_cell(0, 6, letter.subject, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font(family, size=10)
    # Chinese breaks between any two characters; Latin text between words.
    wrap = WrapMode.CHAR if wide is not None else WrapMode.WORD
    for paragraph in [p for p in letter.body.split("\n\n") if p.strip()]:
        if "\t" in paragraph:
            _table(pdf, paragraph.strip("\n").splitlines(), wrap)
        else:
            pdf.multi_cell(
                0, 5, paragraph.strip(), align="L", new_x="LMARGIN", new_y="NEXT", wrapmode=wrap
            )
        pdf.ln(2.5)
    return bytes(pdf.output())


AMOUNT_COLUMN = 45.0  # mm: the right-aligned column of a table's amounts


def _table(pdf: FPDF, lines: list[str], wrap: WrapMode) -> None:
    """A paragraph whose lines are ``label<TAB>amount`` rows (the validation notice's
    itemization), set as a two-column table: labels wrap on the left, amounts align right.
    A line without a tab is a row with no amount."""
    label_width = pdf.epw - AMOUNT_COLUMN
    for line in lines:
        label, _, amount = line.partition("\t")
        if pdf.will_page_break(5):
            pdf.add_page()
        top = pdf.get_y()
        pdf.multi_cell(
            label_width, 5, label.strip(), align="L", new_x="LMARGIN", new_y="NEXT", wrapmode=wrap
        )
        bottom = pdf.get_y()
        if amount.strip():
            pdf.set_xy(pdf.l_margin + label_width, top)
            pdf.cell(AMOUNT_COLUMN, 5, amount.strip(), align="R")
        pdf.set_xy(pdf.l_margin, bottom)


def _has_wide(letter: Letter) -> bool:
    text = letter.subject + letter.body + "".join(letter.recipient.lines())
    return any("\u2e80" <= char <= "\u9fff" or "\uff00" <= char <= "\uffef" for char in text)
