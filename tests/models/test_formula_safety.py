"""Formulas are parsed, not executed: injections are refused everywhere, nothing runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trialanalysis import fit_mixed
from trialanalysis.analyses.common.fits import random_groups
from trialanalysis.cli.main import main
from trialanalysis.errors import ConfigError, ModelSpecificationError
from trialanalysis.models.formula_syntax import design_matrices, safe_formula
from trialanalysis.models.gee import fit_gee

# Each payload, if executed, would create the file PATH.
PAYLOADS = [
    "__import__('os').system('touch PATH')",
    "I(__import__('os').system('touch PATH'))",
    "C(x, __import__('os').system('touch PATH'))",
    "open('PATH', 'w')",
    "exec(\"open('PATH', 'w')\")",
    "eval(\"open('PATH', 'w')\")",
    "x.__class__.__init__",
    "(lambda: open('PATH', 'w'))()",
    "getattr(x, 'to_csv')('PATH')",
    "x.to_csv('PATH')",
    "globals()['open']('PATH', 'w')",
    "log(open('PATH', 'w'))",
    "[open('PATH', 'w') for _ in x]",
    "bs(x, df=open('PATH', 'w'))",
    "x; open('PATH', 'w')",
    "I(x) + _x",
]


def _data(n_groups: int = 8, size: int = 6) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    g = np.repeat(np.arange(n_groups), size)
    x = rng.normal(size=g.size)
    y = 1 + 0.5 * x + rng.normal(size=n_groups)[g] + rng.normal(size=g.size)
    return pd.DataFrame({"y": y, "x": x, "g": [f"g{i}" for i in g], "b": (y > 1).astype(int)})


def _payloads(tmp_path):
    target = tmp_path / "executed"
    return target, [p.replace("PATH", str(target)) for p in PAYLOADS]


def test_payloads_are_refused_by_fit_mixed(tmp_path):
    target, payloads = _payloads(tmp_path)
    data = _data()
    for payload in payloads:
        for formula in (f"y ~ {payload} + (1 | g)", f"y ~ x + (1 | {payload})"):
            with pytest.raises(ModelSpecificationError, match=r"parsed, not executed|grouping"):
                fit_mixed(data, formula)
    assert not target.exists()


def test_payloads_are_refused_by_the_fit_command(tmp_path, capsys):
    target, payloads = _payloads(tmp_path)
    csv = tmp_path / "d.csv"
    _data().to_csv(csv, index=False)
    for payload in payloads:
        out = tmp_path / "out.csv"
        status = main(["fit", str(csv), "--formula", f"y ~ {payload} + (1|g)", "-o", str(out)])
        assert status != 0
        assert not out.exists()
        assert "Traceback" not in capsys.readouterr().err
    assert not target.exists()


def test_payloads_are_refused_by_gee_and_ols(tmp_path):
    target, payloads = _payloads(tmp_path)
    data = _data()
    for payload in payloads:
        with pytest.raises(ModelSpecificationError, match="parsed, not executed"):
            fit_gee(data, f"b ~ {payload}", "g")
        with pytest.raises(ModelSpecificationError, match="parsed, not executed"):
            design_matrices(f"y ~ x + {payload}", data)
    assert not target.exists()


def test_payloads_in_config_random_effects_are_config_errors(tmp_path):
    target, payloads = _payloads(tmp_path)
    for payload in payloads:
        with pytest.raises(ConfigError):
            random_groups([f"(1 | clinic_id) + {payload}"], "betterback.analyses.patients")
    assert not target.exists()


def test_refusal_names_the_token_and_lists_what_is_allowed():
    with pytest.raises(ModelSpecificationError) as info:
        safe_formula("y ~ x + os.system('ls')")
    message = str(info.value)
    assert "'os.system('" in message
    for allowed in ("backticks", "%in%", "C()", "I()", "log()", "scale()", "bs()"):
        assert allowed in message


@pytest.mark.parametrize(
    ("formula", "patsy"),
    [
        ("y ~ x", "y ~ x"),
        ("y ~ factor(arm) * time - 1", "y ~ C(arm) * time - 1"),
        ("y ~ (a + b + c)^2", "y ~ (a + b + c) ** 2"),
        ("y ~ a %in% b + a:b + a/b", "y ~ a %in% b + a:b + a / b"),
        ("y ~ I(x^2 + 2 * z) + log(x) + sqrt(z)", "y ~ I(x ** 2 + 2 * z) + log(x) + sqrt(z)"),
        ("y ~ `pain score` + `2nd`", 'y ~ Q("pain score") + Q("2nd")'),
        ("`yield` ~ class", 'Q("yield") ~ Q("class")'),
        ("y ~ C(arm, Treatment('control'))", "y ~ C(arm, Treatment('control'))"),
        ("y ~ bs(age, df=4) + scale(age) + center(age)", None),
        ("y ~ 0 + x", "y ~ 0 + x"),
    ],
)
def test_ordinary_formulas_are_accepted(formula, patsy):
    written = safe_formula(formula)
    if patsy is not None:
        assert written == patsy


def test_transforms_evaluate_as_in_r():
    data = pd.DataFrame({"y": [1.0, 3.0, 2.0, 5.0, 4.0], "x": [1.0, 2.0, 3.0, 4.0, 10.0]})
    _, X = design_matrices("y ~ scale(x) + log(x) + I(x^2)", data)
    x = data["x"].to_numpy()
    np.testing.assert_allclose(X["scale(x)"], (x - x.mean()) / x.std(ddof=1))
    np.testing.assert_allclose(X["log(x)"], np.log(x))
    np.testing.assert_allclose(X["I(x ** 2)"], x**2)


def test_backticked_columns_fit_like_plain_ones():
    data = _data()
    renamed = data.rename(columns={"x": "pain score", "y": "odi total"})
    plain = fit_mixed(data, "y ~ x + (1 | g)", variance_ci="none")
    quoted = fit_mixed(renamed, "`odi total` ~ `pain score` + (1 | g)", variance_ci="none")
    np.testing.assert_allclose(quoted.beta, plain.beta)


def test_offset_is_refused_with_what_to_do_instead():
    with pytest.raises(ModelSpecificationError, match="subtract the offset from the response"):
        fit_mixed(_data(), "y ~ x + offset(x) + (1 | g)")


def test_right_hand_sides_alone_are_checked_too():
    assert safe_formula("~ x + C(g)", response=False) == "x + C(g)"
    with pytest.raises(ModelSpecificationError, match="exactly one '~'"):
        safe_formula("x + g")
