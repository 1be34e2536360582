"""Formulas are parsed, never executed: the one gate before patsy and statsmodels.

patsy evaluates every factor of a formula as Python, so a formula such as
``y ~ __import__('os').system('…') + (1|g)`` would run a shell command. Every
formula the package hands to patsy or statsmodels (mixed models, GEE, OLS in
mediation and sensitivity analyses, formulas from config files) first passes
:func:`safe_formula`, which tokenises and parses it as R formula syntax,
accepts only the constructs below, and writes it back as a patsy formula
that contains nothing else:

* column names, quoted with backticks where they are not identifiers
  (```pain score```), and numbers;
* the operators ``+ - * / : ^ %in%``, parentheses, ``0``/``1``/``-1``, and
  ``|``/``||`` inside random-effect terms ``(expr | group)``;
* the transforms in :data:`TRANSFORMS`: ``C()``/``factor()`` (with a
  contrast such as ``Treatment("level")``), ``I()`` with arithmetic on
  columns, ``log``, ``log1p``, ``exp``, ``sqrt``, ``scale``, ``center`` and
  ``bs`` (B-splines, as R's ``splines::bs``).

Anything else (attribute access, other calls, dunder names, lambdas,
strings other than factor levels) is refused with a
:class:`~trialanalysis.errors.ModelSpecificationError` naming the token and
listing what is allowed. patsy then evaluates in :data:`SAFE_ENV`, which
holds only those transforms.

The parser builds a small syntax tree (:class:`Node`); a term kind is one
``kind`` value with a check and an emitter, so a covariance-structure term
such as ``us(visit | id)`` is one entry of :data:`TERM_CALLS`, split off
by :func:`top_level_terms` before the rest is written for patsy.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field

import numpy as np
import patsy

from trialanalysis.errors import ModelSpecificationError

# ------------------------------------------------------------------ tokens

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<backtick>`[^`\n]+`)
  | (?P<string>"[^"\\\n]*"|'[^'\\\n]*')
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>(?:[^\W\d]|\.)[\w.]*)
  | (?P<op>%in%|\|\||\*\*|[-+*/:^|~(),=])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    """One token: ``kind`` is name, backtick, string, number or op."""

    kind: str
    text: str
    position: int


def tokenize(text: str) -> list[Token]:
    """Split a formula into tokens; refuse any character that is not R formula syntax."""
    tokens, position = [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise _refuse(text, text[position], "is not part of formula syntax")
        kind = match.lastgroup
        if kind != "space":
            tokens.append(Token(kind, match.group(), position))
        position = match.end()
    return tokens


# ------------------------------------------------------------------ syntax tree


@dataclass
class Node:
    """A parsed formula element.

    ``kind`` is one of name, number, string, call, binary, unary, paren;
    ``text`` holds the name, number, string, operator or called function;
    ``args`` the operands or positional arguments, ``kwargs`` keyword
    arguments of a call.
    """

    kind: str
    text: str
    args: list[Node] = field(default_factory=list)
    kwargs: dict[str, Node] = field(default_factory=dict)
    quoted: bool = False


# Binding powers, following R's operator precedence.
_BINARY = {"~": 1, "|": 2, "||": 2, "+": 3, "-": 3, "*": 4, "/": 4, "%in%": 5, ":": 6}
_POWER = 8  # ^ and **, right-associative
_UNARY = 7


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0

    def peek(self) -> Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise ModelSpecificationError(f"formula {self.text!r} ends unexpectedly")
        self.index += 1
        return token

    def expect(self, text: str) -> None:
        token = self.take()
        if token.text != text:
            raise _refuse(self.text, token.text, f"found where {text!r} was expected")

    def expression(self, min_power: int = 0) -> Node:
        left = self.prefix()
        while (token := self.peek()) is not None:
            op = token.text if token.kind == "op" else None
            power = _POWER if op in ("^", "**") else _BINARY.get(op or "", -1)
            if power <= min_power:
                break
            self.take()
            right = self.expression(power - 1 if op in ("^", "**") else power)
            left = Node("binary", "^" if op == "**" else op, [left, right])
        return left

    def prefix(self) -> Node:
        token = self.take()
        if token.kind == "op" and token.text in ("-", "+"):
            return Node("unary", token.text, [self.expression(_UNARY)])
        if token.kind == "op" and token.text == "(":
            inner = self.expression()
            self.expect(")")
            return Node("paren", "(", [inner])
        if token.kind == "number":
            return Node("number", token.text)
        if token.kind == "string":
            return Node("string", token.text[1:-1])
        if token.kind == "backtick":
            return Node("name", token.text[1:-1], quoted=True)
        if token.kind == "name":
            _check_name(self.text, token.text)
            following = self.peek()
            if following is not None and following.text == "(":
                return self.call(token.text)
            return Node("name", token.text)
        before = self.tokens[self.index - 2].text if self.index >= 2 else ""
        if token.text in ("|", "||"):
            raise ModelSpecificationError(
                f"formula {self.text!r}: a random-effect term has nothing before "
                f"'{token.text}'; write (1 | group) for a random intercept"
            )
        if token.text == ")" and before in ("|", "||"):
            raise ModelSpecificationError(
                f"formula {self.text!r}: a random-effect term has no grouping factor after "
                f"'{before}'"
            )
        raise _refuse(self.text, token.text, "cannot start a term")

    def call(self, function: str) -> Node:
        self.expect("(")
        node = Node("call", function)
        if self.peek() is not None and self.peek().text == ")":
            self.take()
            return node
        while True:
            token = self.peek()
            after = self.tokens[self.index + 1] if self.index + 1 < len(self.tokens) else None
            if token is not None and token.kind == "name" and after is not None:
                if after.text == "=":
                    self.index += 2
                    node.kwargs[token.text] = self.expression()
                else:
                    node.args.append(self.expression())
            else:
                node.args.append(self.expression())
            token = self.take()
            if token.text == ")":
                return node
            if token.text != ",":
                raise _refuse(self.text, token.text, f"found in the arguments of {function}()")


def _check_name(text: str, name: str) -> None:
    if "__" in name or name.strip(".") == "" or name.startswith("_"):
        raise _refuse(text, name, "is not allowed (names starting with '_' or holding '__')")
    if name == "lambda":
        raise _refuse(text, name, "is not allowed (formulas hold no functions)")


def _refuse(text: str, token: str, why: str) -> ModelSpecificationError:
    return ModelSpecificationError(
        f"formula {text!r}: {token!r} {why}. Formulas are parsed, not executed; allowed are "
        "column names (in `backticks` if not identifiers), numbers, the operators "
        "+ - * / : ^ %in% | || ( ), 0/1/-1, and the transforms "
        f"{', '.join(f'{name}()' for name in TRANSFORMS)}"
    )


# ------------------------------------------------------------------ what is allowed

#: Transforms allowed in a formula: name → (patsy name, allowed keyword arguments).
TRANSFORMS: dict[str, tuple[str, frozenset[str]]] = {
    "C": ("C", frozenset()),
    "factor": ("C", frozenset()),
    "I": ("I", frozenset()),
    "log": ("log", frozenset()),
    "log1p": ("log1p", frozenset()),
    "exp": ("exp", frozenset()),
    "sqrt": ("sqrt", frozenset()),
    "scale": ("scale", frozenset()),
    "center": ("center", frozenset()),
    "bs": ("bs", frozenset({"df", "degree", "knots", "include_intercept"})),
}
_MATH = ("log", "log1p", "exp", "sqrt")
_CONTRASTS = ("Treatment", "Sum", "Helmert", "Diff", "Poly")

#: Calls that form a term of their own and never reach patsy: the residual
#: covariance structures ``us(visit | id)`` etc. of :mod:`.covariance`, which
#: :func:`~.covariance.split_covariance_term` takes off a mixed-model formula
#: (name → description).
TERM_CALLS: dict[str, str] = {
    "us": "unstructured",
    "cs": "compound symmetry",
    "csh": "heterogeneous compound symmetry",
    "ar1": "first-order autoregressive",
    "ar1h": "heterogeneous first-order autoregressive",
    "toep": "Toeplitz",
    "toeph": "heterogeneous Toeplitz",
}


class _RScale:
    """R's ``scale()``: centre and divide by the SD with divisor n − 1."""

    def __init__(self):
        self._sum = self._sum_sq = 0.0
        self._n = 0

    def memorize_chunk(self, x):
        x = np.asarray(x, dtype=float)
        self._sum += x.sum()
        self._sum_sq += (x * x).sum()
        self._n += x.size

    def memorize_finish(self):
        self._mean = self._sum / self._n
        self._sd = np.sqrt(max(self._sum_sq - self._n * self._mean**2, 0.0) / (self._n - 1))

    def transform(self, x):
        return (np.asarray(x, dtype=float) - self._mean) / self._sd


#: The only namespace patsy evaluates formulas in (plus patsy's own C, I, Q,
#: center, bs and contrasts).
SAFE_ENV = patsy.EvalEnvironment(
    [
        {
            "log": np.log,
            "log1p": np.log1p,
            "exp": np.exp,
            "sqrt": np.sqrt,
            "scale": patsy.stateful_transform(_RScale),
        }
    ]
)


# ------------------------------------------------------------------ checks and output


class _Writer:
    """Check a tree in its context and write it as patsy text."""

    def __init__(self, text: str, random: bool):
        self.text = text
        self.random = random

    def term(self, node: Node, inside_random: bool = False) -> str:
        kind = node.kind
        if kind == "name":
            return _patsy_name(node.text)
        if kind == "number":
            if node.text not in ("0", "1"):
                raise _refuse(
                    self.text, node.text, "is a number where a term is expected (only 0 or 1)"
                )
            return node.text
        if kind == "unary":
            if node.text == "-" and node.args[0].kind == "number":
                return "-" + self.term(node.args[0])
            raise _refuse(self.text, node.text, "can only precede 0 or 1 in a term (as in -1)")
        if kind == "paren":
            inner = node.args[0]
            if inner.kind == "binary" and inner.text in ("|", "||"):
                return self.random_term(inner, inside_random)
            return "(" + self.term(inner, inside_random) + ")"
        if kind == "binary":
            op = node.text
            if op in ("|", "||"):
                raise _refuse(self.text, op, "may only appear inside a term (expr | group)")
            if op == "~":
                raise _refuse(self.text, op, "may appear only once")
            if op == "^":
                power = node.args[1]
                if power.kind != "number" or not power.text.isdigit():
                    raise _refuse(self.text, "^", "needs a whole number, as in (a + b)^2")
                return f"{self.term(node.args[0], inside_random)} ** {power.text}"
            left, right = (self.term(arg, inside_random) for arg in node.args)
            return f"{left}:{right}" if op == ":" else f"{left} {op} {right}"
        if kind == "call":
            return self.call(node)
        raise _refuse(self.text, node.text, "is not allowed here (strings are factor levels only)")

    def random_term(self, node: Node, inside_random: bool) -> str:
        if not self.random or inside_random:
            raise _refuse(
                self.text, node.text, "is a random-effect term, not allowed in this formula"
            )
        expr, group = node.args
        return f"({self.term(expr, True)} {node.text} {self.group(group)})"

    def group(self, node: Node) -> str:
        if node.kind == "name":
            if not _is_identifier(node.text):
                raise _refuse(
                    self.text,
                    node.text,
                    "cannot be a grouping factor: rename the column to letters, digits and _",
                )
            return node.text
        if node.kind == "binary" and node.text in (":", "/"):
            return f"{self.group(node.args[0])}{node.text}{self.group(node.args[1])}"
        raise ModelSpecificationError(
            f"formula {self.text!r}: grouping by {_describe(node)!r} is not supported: use a "
            "column, an interaction 'a:b' or nesting 'a/b'; for crossed factors write "
            "separate terms '(1 | a) + (1 | b)'"
        )

    def call(self, node: Node) -> str:
        name = node.text
        if name in TERM_CALLS:
            raise _refuse(
                self.text,
                f"{name}(",
                "is a residual covariance term: only mixed-model formulas (fit_mixed, "
                "trialanalysis fit) take one, as a term of its own",
            )
        if name == "offset":
            raise _refuse(
                self.text,
                "offset",
                "is not supported: subtract the offset from the response and fit the "
                "difference (identical for a linear mixed model)",
            )
        if name not in TRANSFORMS:
            raise _refuse(self.text, f"{name}(", "calls a function that is not allowed")
        patsy_name, keywords = TRANSFORMS[name]
        unknown = sorted(set(node.kwargs) - keywords)
        if unknown:
            raise _refuse(self.text, unknown[0], f"is not an argument of {name}()")
        if name in ("C", "factor"):
            return self.factor(node, patsy_name)
        if len(node.args) != 1:
            raise _refuse(self.text, f"{name}(", "takes exactly one variable")
        if name == "I":
            return f"I({self.arithmetic(node.args[0])})"
        argument = self.arithmetic(node.args[0])
        extra = "".join(
            f", {key}={self.literal(value, key)}" for key, value in sorted(node.kwargs.items())
        )
        return f"{patsy_name}({argument}{extra})"

    def factor(self, node: Node, patsy_name: str) -> str:
        if not 1 <= len(node.args) <= 2 or node.args[0].kind != "name":
            raise _refuse(self.text, node.text + "(", "takes one column and optionally a contrast")
        out = _patsy_name(node.args[0].text)
        if len(node.args) == 2:
            out += ", " + self.contrast(node.args[1])
        return f"{patsy_name}({out})"

    def contrast(self, node: Node) -> str:
        if node.kind == "name" and node.text in _CONTRASTS:
            return node.text
        if (
            node.kind == "call"
            and node.text in _CONTRASTS
            and not node.kwargs.keys() - {"reference"}
        ):
            values = node.args + list(node.kwargs.values())
            if len(values) <= 1 and all(v.kind in ("string", "number") for v in values):
                if not values:
                    return f"{node.text}()"
                return f"{node.text}({self.literal(values[0], 'reference')})"
        raise _refuse(
            self.text,
            _describe(node),
            f'is not a contrast; use one of {", ".join(_CONTRASTS)}, e.g. Treatment("level")',
        )

    def literal(self, node: Node, what: str) -> str:
        if node.kind == "number":
            return node.text
        if node.kind == "string" and what == "reference":
            return repr(node.text)
        if node.kind == "name" and node.text in ("TRUE", "FALSE", "True", "False"):
            return "True" if node.text.startswith("T") else "False"
        raise _refuse(self.text, _describe(node), f"is not a number for {what}=")

    def arithmetic(self, node: Node) -> str:
        if node.kind == "name":
            return _patsy_name(node.text)
        if node.kind == "number":
            return node.text
        if node.kind == "paren":
            return "(" + self.arithmetic(node.args[0]) + ")"
        if node.kind == "unary":
            return node.text + self.arithmetic(node.args[0])
        if node.kind == "binary" and node.text in ("+", "-", "*", "/", "^"):
            op = "**" if node.text == "^" else node.text
            return f"{self.arithmetic(node.args[0])} {op} {self.arithmetic(node.args[1])}"
        if node.kind == "call" and node.text in _MATH and len(node.args) == 1 and not node.kwargs:
            return f"{node.text}({self.arithmetic(node.args[0])})"
        raise _refuse(
            self.text,
            _describe(node),
            f"is not allowed in arithmetic (columns, numbers, + - * / ^, {', '.join(_MATH)})",
        )


def _describe(node: Node) -> str:
    if node.kind == "call":
        return f"{node.text}("
    if node.kind == "string":
        return repr(node.text)
    return node.text


def _is_identifier(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name)


def _patsy_name(name: str) -> str:
    """Write a column name as patsy reads it: bare if an identifier, else ``Q("…")``."""
    if _is_identifier(name) and name not in ("C", "I", "Q"):
        return name
    if '"' in name or "\\" in name:
        raise ModelSpecificationError(
            f"column name {name!r} holds a quote or backslash; rename the column"
        )
    return f'Q("{name}")'


def top_level_terms(text: str) -> tuple[str, list[str]]:
    """Split ``response ~ a + b + …`` into the response and its top-level terms.

    Splitting uses the formula tokenizer, so ``+`` inside parentheses,
    backticked names (```pain+score```) and strings does not split.

    Parameters
    ----------
    text : str
        A formula with exactly one ``~``.

    Returns
    -------
    (str, list of str)
        The text left of ``~`` and the text of each term joined by a
        top-level ``+``, stripped.

    Examples
    --------
    >>> top_level_terms("y ~ `a+b` * arm + us(visit | id)")
    ('y', ['`a+b` * arm', 'us(visit | id)'])
    """
    tokens = tokenize(text)
    tilde = [i for i, token in enumerate(tokens) if token.text == "~"]
    if len(tilde) != 1:
        raise ModelSpecificationError(
            f"formula {text!r} must have exactly one '~', e.g. 'y ~ x + (1 | cluster)'"
        )
    cuts, depth = [tokens[tilde[0]].position + 1], 0
    for token in tokens[tilde[0] + 1 :]:
        if token.kind == "op":
            depth += {"(": 1, ")": -1}.get(token.text, 0)
            if token.text == "+" and depth == 0:
                cuts.append(token.position)
    ends = [*cuts[1:], len(text)]
    terms = [text[start:end].lstrip("+").strip() for start, end in zip(cuts, ends, strict=True)]
    return text[: tokens[tilde[0]].position].strip(), terms


_QUOTED = re.compile(r'Q\("([^"]*)"\)')
_R_NAME = re.compile(r"^(?:[A-Za-z]|\.(?!\d))[A-Za-z0-9._]*$")


def r_column_label(label: str) -> str:
    """Write patsy's ``Q("…")`` quoting in a column label as R names it.

    Examples
    --------
    >>> r_column_label('Q("Solar.R")'), r_column_label('C(arm)[T.b]:Q("pain score")')
    ('Solar.R', 'C(arm)[T.b]:`pain score`')
    """

    def unquote(match: re.Match) -> str:
        name = match.group(1)
        return name if _R_NAME.match(name) else f"`{name}`"

    return _QUOTED.sub(unquote, label)


def safe_formula(text: str, random: bool = False, response: bool = True) -> str:
    """Check a formula against the allowed syntax and return it as patsy text.

    Parameters
    ----------
    text : str
        An R/lme4-style formula, e.g. ``"y ~ arm * time + (1 + time | id)"``.
    random : bool
        Whether random-effect terms ``(expr | group)`` are allowed.
    response : bool
        Whether the formula must have a response (``y ~ …``); False accepts
        a right-hand side alone (``"x + z"`` or ``"~ x + z"``).

    Returns
    -------
    str
        The same formula written with only allowed patsy constructs (``^`` as
        ``**``, ``factor`` as ``C``, backticked names as ``Q("…")``).

    Raises
    ------
    ModelSpecificationError
        Naming the first token that is not allowed and listing what is.

    Examples
    --------
    >>> safe_formula("y ~ factor(arm) * time + (1 | `clinic`)", random=True)
    'y ~ C(arm) * time + (1 | clinic)'
    >>> safe_formula("y ~ __import__('os')")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    trialanalysis.errors.ModelSpecificationError: formula "y ~ __import__('os')": ...
    """
    if not isinstance(text, str):
        raise ModelSpecificationError(f"a formula must be text, got {type(text).__name__}")
    parser = _Parser(text)
    if not parser.tokens:
        raise ModelSpecificationError("the formula is empty")
    if not response and parser.tokens[0].text == "~":
        parser.index = 1
    tree = parser.expression()
    if parser.peek() is not None:
        raise _refuse(text, parser.peek().text, "cannot follow a complete formula")
    writer = _Writer(text, random)
    if tree.kind == "binary" and tree.text == "~":
        lhs, rhs = tree.args
        if lhs.kind != "name":
            raise ModelSpecificationError(
                f"formula {text!r}: the response {_describe(lhs)!r} must be a column name; "
                "create transformed outcomes as new columns before fitting"
            )
        return f"{_patsy_name(lhs.text)} ~ {writer.term(rhs)}"
    if response:
        raise ModelSpecificationError(
            f"formula {text!r} must have exactly one '~', e.g. 'y ~ x + (1 | cluster)'"
        )
    return writer.term(tree)


def formula_columns(text: str) -> list[str]:
    """List the data columns a formula refers to, in order of appearance.

    Examples
    --------
    >>> formula_columns("y ~ C(arm, Treatment('a')) * log(x) + (1 + t | g/h) + us(v | id)")
    ['y', 'arm', 'x', 't', 'g', 'h', 'v', 'id']
    """
    names: list[str] = []

    def walk(node: Node) -> None:
        if node.kind == "name":
            if node.text not in ("TRUE", "FALSE", "True", "False"):
                names.append(node.text)
        elif node.kind == "call" and node.text in ("C", "factor"):
            for arg in node.args[:1]:
                walk(arg)
        elif node.kind == "call" and node.text in _CONTRASTS:
            return
        else:
            for arg in node.args:
                walk(arg)

    parser = _Parser(text)
    if parser.tokens and parser.tokens[0].text == "~":
        parser.index = 1
    walk(parser.expression())
    return list(dict.fromkeys(names))


def check_columns(text: str, columns) -> None:
    """Refuse a formula that names columns the data do not have, naming all of them.

    Raises
    ------
    ModelSpecificationError
        Listing every missing column and (for up to 40 columns) the columns
        the data have.
    """
    available = [str(c) for c in columns]
    missing = [name for name in formula_columns(text) if name not in set(available)]
    if not missing:
        return
    shown = ", ".join(available) if len(available) <= 40 else f"{len(available)} columns"
    raise ModelSpecificationError(
        f"formula {text!r} names {len(missing)} column(s) not in the data: "
        f"{', '.join(missing)}; the data have: {shown}"
    )


def design_matrices(formula: str, data, na_action: str = "drop"):
    """Response and model matrix of a checked formula, evaluated in :data:`SAFE_ENV`.

    Use this instead of statsmodels' formula interface (``smf.ols``), whose
    formula engine would evaluate the text itself.

    Returns
    -------
    tuple of DataFrame
        ``(y, X)`` as :func:`patsy.dmatrices` returns them (rows with missing
        values dropped by default; the index says which rows were used).
    """
    patsy_text = safe_formula(formula)
    check_columns(formula, data.columns)
    try:
        return patsy.dmatrices(
            patsy_text,
            data,
            return_type="dataframe",
            NA_action=na_action,
            eval_env=SAFE_ENV,
        )
    except patsy.PatsyError as exc:
        raise ModelSpecificationError(f"cannot use formula {formula!r}: {exc}") from exc
