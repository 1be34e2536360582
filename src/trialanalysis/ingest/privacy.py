"""Privacy guard: no personal identifiers into the analysis, small cells hidden.

Input is refused when a column holds Swedish personal identity numbers
(personnummer) or coordination numbers (samordningsnummer), e-mail addresses
or phone numbers (in any cell), or names of people (in most of its non-empty
cells), or when its header clearly names such data (``personnummer``,
``e-post``, ``patient_name``, ``förnamn``...), unless the column is declared in
``privacy.drop_columns`` (then it is dropped on read, before any check).
Problems name the file, column and rows, never the value.

Names of people are found by content, whatever the header: a value is a
person's name when it is two to five words of letters, at least two of them
names and at least one a given name, from the lists of common Nordic given
names and surnames shipped in ``trialanalysis/data/names`` (surnames are also
known by endings such as ``-sson`` or ``-berg``). So ``Anna Svensson``,
``Lars-Erik Johansson`` and ``Karlsson, Maria`` are names, while
organisation names (``Vårdcentralen Ljungsbro``) and category labels
(``Golden Rain``, ``Waiting list``) are not. A header word ``name`` alone or
after a word for a person (``patient_name``) refuses the column; after any
other word (``clinic_name``) the content decides.

Detection is heuristic: it does not find single given names, rare names or
identifiers written in other forms; the data team remains responsible for
pseudonymising before export.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from functools import cache
from importlib import resources

from trialanalysis.errors import Problem

# YYMMDD or YYYYMMDD, optional "-", "+" or space, then 3 serial digits and a check digit.
_PERSONAL_NUMBER = re.compile(
    r"(?<![\d.,])(?P<century>18|19|20)?(?P<yy>\d{2})(?P<mm>\d{2})(?P<dd>\d{2})"
    r"[-+ ]?(?P<serial>\d{3})(?P<check>\d)(?!\d)"
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_DATE_SHAPE = re.compile(r"^\d{1,4}[-./ ]\d{1,2}[-./ ]\d{1,4}$")
_PHONE_SHAPE = re.compile(r"^\+?[\d(][\d\s\-()/]*\d$")
_MOBILE = re.compile(r"^07[02369]\d{7}$")
_WORD = re.compile(r"^[^\W\d_]+(?:['’][^\W\d_]+)?$")
_SURNAME_ENDINGS = (
    "sson", "son", "sen", "berg", "ström", "gren", "qvist", "kvist", "lund", "holm",
    "dahl", "blad", "stedt", "nen", "lin",
)  # fmt: skip
_SHORT_NUMBER = re.compile(r"^[+-]?[\d.,]{0,7}$")

_NAME_WORDS = {
    "fornamn", "förnamn", "efternamn", "tilltalsnamn", "mellannamn", "patientnamn",
    "personnamn", "surname", "surnames", "forename", "firstname", "lastname", "fullname",
    "givenname", "familyname", "middlename", "maidenname", "patientname",
}  # fmt: skip
_NAME = {"name", "names", "namn", "navn", "nimi"}
_PERSON_WORDS = {
    "patient", "patients", "pt", "therapist", "physiotherapist", "person", "participant",
    "subject", "respondent", "user", "contact", "first", "last", "full", "given", "family",
    "middle", "maiden", "fore", "sur", "mother", "father", "parent", "guardian", "relative",
    "child", "doctor", "physician", "nurse", "staff", "owner", "employee", "sjukgymnast",
    "fysioterapeut", "kontakt", "anhörig", "läkare", "personal", "deltagare",
}  # fmt: skip
_FREE_TEXT_WORDS = {
    "comment", "comments", "kommentar", "kommentarer", "note", "notes", "anteckning",
    "anteckningar", "remark", "remarks", "anmärkning", "fritext", "freetext", "övrigt",
    "notering", "noteringar", "beskrivning", "description",
}  # fmt: skip
_EMAIL_WORDS = {"email", "mail", "epost", "emailaddress", "mailadress"}
_PHONE_WORDS = {
    "phone", "telephone", "tel", "telefon", "telefonnummer", "mobile", "mobil",
    "mobilnummer", "phonenumber", "mobilephone",
}  # fmt: skip
_NUMBER_WORDS = {
    "personnummer", "pnr", "persnr", "personnr", "ssn", "samordningsnummer",
    "personalnumber", "personalidentitynumber", "personalid", "socialsecuritynumber",
}  # fmt: skip
_ADDRESS_WORDS = {"address", "adress", "gatuadress", "streetaddress", "street"}
WHAT = {
    "personal_number": "Swedish personal identity or coordination numbers",
    "email": "e-mail addresses",
    "phone": "phone numbers",
    "name": "names of people",
    "address": "postal addresses",
}


def _luhn_check_digit(nine_digits: str) -> int:
    total = 0
    for position, char in enumerate(nine_digits):
        product = int(char) * (2 if position % 2 == 0 else 1)
        total += product - 9 if product > 9 else product
    return (10 - total % 10) % 10


def _real_date(years: Iterable[int], month: int, day: int) -> bool:
    for year in years:
        try:
            dt.date(year, month, day)
        except ValueError:
            continue
        return True
    return False


def _valid_match(match: re.Match) -> bool:
    yy, mm, dd = match["yy"], int(match["mm"]), int(match["dd"])
    day = dd - 60 if dd > 60 else dd  # coordination numbers add 60 to the day
    century = match["century"]
    years = [int(century + yy)] if century else [1900 + int(yy), 2000 + int(yy)]
    if not _real_date(years, mm, day):
        return False
    ten = yy + match["mm"] + match["dd"] + match["serial"] + match["check"]
    return _luhn_check_digit(ten[:9]) == int(ten[9])


def contains_personal_number(text: str) -> bool:
    """Whether text holds a Swedish personal identity or coordination number.

    Accepts ``YYMMDD-NNNN``, ``YYMMDD+NNNN`` (aged 100 or more),
    ``YYMMDDNNNN``, ``YYYYMMDD-NNNN`` and ``YYYYMMDDNNNN`` (also with a space
    as separator), anywhere in the
    text, and a nine-digit number that is one with its leading zero lost
    (a spreadsheet stored it as a number). The date must exist (for a
    coordination number, day + 60) and the Luhn check digit must be valid.

    Parameters
    ----------
    text : str
        A cell value.

    Returns
    -------
    bool
    """
    text = str(text)
    if text.isdigit() and len(text) == 9:
        text = "0" + text
    return any(_valid_match(m) for m in _PERSONAL_NUMBER.finditer(text))


def looks_like_email(text: str) -> bool:
    """Whether text holds an e-mail address."""
    return bool(_EMAIL.search(str(text)))


def looks_like_phone(text: str) -> bool:
    """Whether text is a Swedish or international phone number.

    Numbers starting with ``+`` or ``00`` (8-15 digits), numbers starting
    with a Swedish area code ``0`` and written with spaces, hyphens, slashes
    or brackets (8-11 digits), and mobile numbers ``07x xxxxxxx`` written
    without separators. Dates (``01-02-2019``) are not phone numbers.
    """
    text = str(text).strip()
    if _DATE_SHAPE.match(text) or not _PHONE_SHAPE.match(text):
        return False
    digits = re.sub(r"\D", "", text)
    if text.startswith("+"):
        return 8 <= len(digits) <= 15
    if digits.startswith("00"):
        return 10 <= len(digits) <= 15 and digits[2] != "0"
    if digits.startswith("0") and digits[1:2] != "0" and 8 <= len(digits) <= 11:
        return bool(re.search(r"[\s\-()/]", text)) or bool(_MOBILE.match(digits))
    return False


@cache
def _name_list(name: str) -> frozenset[str]:
    text = resources.files("trialanalysis").joinpath(f"data/names/{name}").read_text("utf-8")
    lines = (line.strip() for line in text.splitlines())
    return frozenset(line.casefold() for line in lines if line and not line.startswith("#"))


def _name_tokens(text: str) -> list[str] | None:
    """Split a value into words (``Surname, Given``, ``Lars-Erik``); None if not words."""
    parts = text.split(",")
    if len(parts) > 2:
        return None
    tokens = [t for part in parts for t in re.split(r"[\s-]+", part.strip()) if t]
    if not 2 <= len(tokens) <= 5 or not all(_WORD.match(t) for t in tokens):
        return None
    return [t.casefold() for t in tokens]


def looks_like_person_name(text: str) -> bool:
    """Whether text is a person's name by its words.

    Two to five words of letters (``Surname, Given`` and hyphenated double
    names allowed), of which at least two are names and at least one is a
    given name from the shipped lists of common Nordic names; a surname is
    one from the list or a word with a typical Nordic surname ending.

    Parameters
    ----------
    text : str
        A cell value.

    Returns
    -------
    bool
    """
    if not any(c.isspace() or c in ",-" for c in str(text)):
        return False
    tokens = _name_tokens(str(text))
    if tokens is None:
        return False
    given, surnames = _name_list("given_names.txt"), _name_list("surnames.txt")
    n_given = sum(t in given for t in tokens)
    n_names = sum(t in given or t in surnames or _surname_ending(t) for t in tokens)
    return n_given >= 1 and n_names >= 2


def _surname_ending(token: str) -> bool:
    return len(token) >= 5 and token.endswith(_SURNAME_ENDINGS)


def is_free_text_column(name: str) -> bool:
    """Whether a header names a free-text column (comments, notes), which is dropped."""
    return bool(set(_header_words(name)) & _FREE_TEXT_WORDS)


def _header_words(name: str) -> list[str]:
    spaced = re.sub(r"([a-zåäö])([A-ZÅÄÖ])", r"\1 \2", str(name)).lower()
    return [w for w in re.split(r"[^a-z0-9åäöéüø]+", spaced) if w]


def looks_personal(text: str) -> bool:
    """Whether a value looks like personal data and must not be shown in messages."""
    text = str(text)
    return _content_kind(text) is not None or looks_like_person_name(text)


def identifying_column_name(name: str) -> str | None:
    """Return what a column name suggests it holds, or None.

    Parameters
    ----------
    name : str
        A column name such as ``patient_name``, ``E-post`` or ``Personnummer``.

    Returns
    -------
    str or None
        A key of :data:`WHAT` (``name``, ``email``, ``phone``,
        ``personal_number``, ``address``).
    """
    words = _header_words(name)
    joined = "".join(words)
    candidates = [*words, joined] + ["".join(words[i : i + 2]) for i in range(len(words) - 1)]
    for kind, vocabulary in (
        ("personal_number", _NUMBER_WORDS),
        ("email", _EMAIL_WORDS),
        ("phone", _PHONE_WORDS),
        ("address", _ADDRESS_WORDS),
        ("name", _NAME_WORDS),
    ):
        if any(word in vocabulary for word in candidates):
            return kind
    for position, word in enumerate(words):
        if word in _NAME and (position == 0 or words[position - 1] in _PERSON_WORDS):
            return "name"
    return None


def _content_kind(text: str) -> str | None:
    if _SHORT_NUMBER.match(text):
        return None
    if contains_personal_number(text):
        return "personal_number"
    if looks_like_email(text):
        return "email"
    if looks_like_phone(text):
        return "phone"
    return None


def scan_columns(
    file: str,
    header: Sequence[str],
    rows: Sequence[Sequence[str | None]],
    row_numbers: Sequence[int],
    header_row: int,
    declare_as: str | None,
) -> list[Problem]:
    """Find columns that look like they hold personal identifiers.

    Parameters
    ----------
    file : str
        File name used in the problems.
    header, rows, row_numbers, header_row
        The raw table (cells as text, None for blank) and its source rows.
    declare_as : str or None
        The ``privacy.drop_columns`` key of this table (``trial/table``),
        named in the advice; None for a file read outside the workflow
        config (the ``fit`` and ``score`` commands), where the only advice is
        to remove the column.

    Returns
    -------
    list of Problem
        At most one problem per column and kind, at the first row where it
        was found; values are never included. Personal numbers, e-mail
        addresses and phone numbers are refused in any cell, names of people
        when they fill most of a column's non-empty cells.
    """
    advice = (
        "remove it from the file (or a copy of it) before analysis"
        if declare_as is None
        else f"remove it from the file, or declare it in privacy.drop_columns[{declare_as!r}] "
        "so it is dropped on read"
    )
    problems = []
    for index, column in enumerate(header):
        kind = identifying_column_name(column)
        if kind:
            message = f"the column name suggests {WHAT[kind]}; {advice}"
            problems.append(Problem(file, header_row, column, message))
        found: dict[str, list[int]] = {}
        filled = 0
        for cells, number in zip(rows, row_numbers, strict=True):
            cell = cells[index]
            if cell is None:
                continue
            filled += 1
            hit = _content_kind(cell) or ("name" if looks_like_person_name(cell) else None)
            if hit:
                found.setdefault(hit, []).append(number)
        if 2 * len(found.get("name", ())) <= filled:
            found.pop("name", None)  # names of people must fill most of the column
        for hit, numbers in found.items():
            where = _rows_text(numbers)
            message = f"the column looks like it holds {WHAT[hit]} ({where}); {advice}"
            problems.append(Problem(file, numbers[0], column, message))
    return problems


def _rows_text(numbers: list[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:5])
    more = f" and {len(numbers) - 5} more" if len(numbers) > 5 else ""
    return f"row{'s' if len(numbers) > 1 else ''} {shown}{more}"
