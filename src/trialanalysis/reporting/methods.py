"""The methods section, generated from the config, the instrument definitions and the models.

Nothing here is typed prose about the analysis: the design, the models (in
lme4 notation), the degrees-of-freedom method, missing-data handling, the
scoring rules and the settings that public sources do not confirm all come
from the inputs, so the text cannot drift from what was run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from trialanalysis.errors import ReportError
from trialanalysis.instruments import Instrument
from trialanalysis.instruments.definitions import describe_classification
from trialanalysis.instruments.psychometrics import unverified_settings_table
from trialanalysis.reporting.estimands import estimands_section
from trialanalysis.reporting.sections import CodeBlock, Section, TableBlock, TextBlock
from trialanalysis.reporting.suppression import SuppressionRule, default_rule

DF_METHOD_TEXT = {
    "satterthwaite": "Satterthwaite's approximation to the denominator degrees of freedom",
    "kenward-roger": "the Kenward-Roger adjusted covariance matrix and degrees of freedom",
    "between-within": "between-within degrees of freedom",
    "residual": "residual degrees of freedom",
    "z": "Wald z-tests (normal approximation; anti-conservative with few clusters)",
}
MODEL_KEYS = {
    "trial",
    "name",
    "outcome",
    "formula",
    "df_method",
    "reml",
    "family",
    "missing_data",
    "config_key",
    "covariance",
}


def item_ranges(items: Sequence[int]) -> str:
    """Compress item numbers to ranges, e.g. ``(1, 2, 3, 5)`` -> ``"1-3, 5"``."""
    items = sorted(set(int(i) for i in items))
    parts, start = [], None
    for i, item in enumerate(items):
        if start is None:
            start = item
        if i + 1 == len(items) or items[i + 1] != item + 1:
            parts.append(str(start) if start == item else f"{start}-{item}")
            start = None
    return ", ".join(parts)


def scoring_rules(
    instruments: Mapping[str, Instrument], options: Mapping[str, Mapping] | None = None
) -> pd.DataFrame:
    """Tabulate how every score and classification is derived, one row each.

    Parameters
    ----------
    instruments : mapping of str to Instrument
    options : mapping, optional
        Scoring options per instrument from the config (``scoring.options``);
        a ``value_set`` there replaces the definition's default.

    Returns
    -------
    DataFrame
        Columns ``instrument, column, label, items, rule, max_missing_items,
        reverse_items, verified, note, definition_file``.
    """
    options = options or {}
    rows = []
    for instrument in instruments.values():
        reverse = item_ranges(instrument.reverse) if instrument.reverse else ""
        chosen = (options.get(instrument.name) or {}).get("value_set")
        for score in instrument.scores.values():
            if score.method == "value_set":
                rule = f"value set {chosen or score.value_set}"
                if chosen and chosen != score.value_set:
                    rule += f" (config; definition default {score.value_set})"
            else:
                rule = score.method
            if score.transform != "none":
                rule += f", {score.transform}"
            rows.append(
                {
                    "instrument": instrument.name,
                    "column": score.column,
                    "label": score.label,
                    "items": item_ranges(score.items),
                    "rule": rule,
                    "max_missing_items": score.max_missing,
                    "reverse_items": reverse,
                    "verified": "yes" if score.verified else "NO",
                    "note": score.note,
                    "definition_file": instrument.source_file,
                }
            )
        for c in instrument.classifications.values():
            rule = describe_classification(c)
            rows.append(
                {
                    "instrument": instrument.name,
                    "column": c.column,
                    "label": c.label,
                    "items": "",
                    "rule": rule,
                    "max_missing_items": None,
                    "reverse_items": "",
                    "verified": "yes" if c.verified else "NO",
                    "note": c.note,
                    "definition_file": instrument.source_file,
                }
            )
    return pd.DataFrame(rows)


def _shown(path: str, root: str | Path) -> str:
    resolved, base = Path(path).resolve(), Path(root).resolve()
    return resolved.relative_to(base).as_posix() if resolved.is_relative_to(base) else path


def _check_models(models: Sequence[Mapping]) -> list[dict]:
    problems, checked = [], []
    for i, model in enumerate(models):
        unknown = sorted(set(model) - MODEL_KEYS)
        missing = [k for k in ("outcome", "formula") if not model.get(k)]
        if unknown:
            problems.append(
                f"model {i + 1}: unknown key(s) {unknown}; allowed: {sorted(MODEL_KEYS)}"
            )
        if missing:
            problems.append(f"model {i + 1}: missing {missing}")
        checked.append(dict(model))
    if problems:
        raise ReportError("cannot describe the models:\n" + "\n".join(problems))
    return checked


def _model_text(model: Mapping) -> str:
    estimation = "REML" if model.get("reml", True) else "maximum likelihood"
    family = model.get("family", "gaussian")
    kind = "A linear mixed model" if family == "gaussian" else f"A mixed model ({family} family)"
    df_method = str(model.get("df_method", "satterthwaite"))
    canonical = df_method.lower().replace("_", "-").replace(" ", "-")
    df_text = DF_METHOD_TEXT.get(canonical, f"the {df_method} degrees-of-freedom method")
    where = f" (config: `{model['config_key']}`)" if model.get("config_key") else ""
    if model.get("covariance"):
        kind += f" (within-subject covariance: {model['covariance']})"
    text = (
        f"{kind} was fitted by {estimation} to `{model['outcome']}`{where}. "
        f"Tests and 95% confidence intervals use {df_text}."
    )
    if model.get("missing_data"):
        text += f" Missing data: {model['missing_data']}"
    return text


def methods_section(
    config: Mapping,
    instruments: Mapping[str, Instrument],
    models: Sequence[Mapping] = (),
    *,
    missing_data: str = "",
    config_source: str = "config/config.yaml",
    root: str | Path = ".",
    section_id: str = "methods",
) -> Section:
    """Build the methods section from the effective config and what was fitted.

    Parameters
    ----------
    config : mapping
        The effective (validated) config.
    instruments : mapping of str to Instrument
        From :func:`trialanalysis.instruments.load_instruments`; only those
        named in the config's ``<trial>.instruments`` lists are described
        (all of them when the config names none).
    models : sequence of mapping
        One per fitted model: ``outcome`` and ``formula`` (lme4 notation)
        required; ``trial``, ``name``, ``df_method`` (default
        ``satterthwaite``), ``reml`` (default true), ``family`` (default
        ``gaussian``), ``missing_data``, ``config_key`` and ``covariance`` optional.
    missing_data : str
        How missing data are handled overall (from the config).
    config_source : str
        The config file, named as the source of the tables.
    root : path
        Instrument definition files are shown relative to this folder.

    Returns
    -------
    Section
    """
    models = _check_models(models)
    used = {
        name
        for trial in ("betterback", "prepare")
        for names in (config.get(trial, {}).get("instruments", {}) or {}).values()
        for name in names
    }
    chosen = {k: v for k, v in instruments.items() if not used or k in used}
    not_defined = sorted(used - set(instruments))
    if not_defined:
        raise ReportError(f"the config names instrument(s) {not_defined} that have no definition")

    design = []
    betterback = config.get("betterback", {})
    if betterback:
        tp = betterback.get("timepoints", {})
        design.append(
            "BetterBack: stepped cluster (dog-leg) trial; patient questionnaires at "
            f"{', '.join(tp.get('patient', []))}; therapist questionnaires at "
            f"{', '.join(tp.get('therapist', []))}."
        )
    prepare = config.get("prepare", {})
    if prepare:
        arms = prepare.get("arms", [])
        design.append(
            f"PREPARE: two-arm randomised trial ({' vs '.join(arms)}; reference arm "
            f"`{arms[0] if arms else '?'}`); time points "
            f"{', '.join(prepare.get('timepoints', []))}."
        )
    general = [
        f"Random steps use the seed `{config.get('seed', 'not set')}` from the config.",
        _suppression_rule(config).statement(),
    ]
    blocks = [TextBlock("\n".join(f"- {line}" for line in design + general))]

    models_sub = Section("Statistical models", id=f"{section_id}-models")
    if models:
        models_sub.blocks.append(TextBlock("\n\n".join(_model_text(m) for m in models)))
        models_sub.blocks.append(
            CodeBlock(
                "\n".join(
                    f"# {m.get('trial', '')} {m.get('name', m['outcome'])}".rstrip()
                    + f"\n{m['formula']}"
                    for m in models
                ),
                caption="Models in lme4 notation (covariance terms as in R's mmrm)",
            )
        )
        table = pd.DataFrame(
            [
                {
                    "trial": m.get("trial", ""),
                    "name": m.get("name", m["outcome"]),
                    "outcome": m["outcome"],
                    "formula": m["formula"],
                    "df_method": m.get("df_method", "satterthwaite"),
                    "estimation": "REML" if m.get("reml", True) else "ML",
                    "covariance": m.get("covariance", ""),
                }
                for m in models
            ]
        )
        models_sub.blocks.append(TableBlock(table, caption="Fitted models", source=config_source))
    else:
        models_sub.blocks.append(TextBlock("No models were passed to the report."))
    if missing_data:
        models_sub.blocks.append(TextBlock(f"Missing data: {missing_data}"))
    settings_lines = analysis_settings_lines(config)
    if settings_lines:
        models_sub.blocks.append(
            TextBlock(
                "Inference, multiplicity and sensitivity settings (config keys in backticks):\n"
                + "\n".join(f"- {line}" for line in settings_lines)
            )
        )

    scoring_sub = Section("Instrument scoring", id=f"{section_id}-scoring")
    options = (config.get("scoring", {}) or {}).get("options", {})
    if options:
        scoring_sub.blocks.append(
            TextBlock(
                "Scoring options from the config: "
                + "; ".join(
                    f"`{k}`: {', '.join(f'{a} = {b}' for a, b in v.items())}"
                    for k, v in options.items()
                )
                + "."
            )
        )
    definitions = ", ".join(sorted({_shown(i.source_file, root) for i in chosen.values()}))
    scoring_sub.blocks.append(
        TableBlock(
            scoring_rules(chosen, options),
            columns=[
                "column",
                "label",
                "items",
                "rule",
                "max_missing_items",
                "reverse_items",
                "verified",
                "note",
            ],
            caption="How each score is derived (verified = confirmed by public sources)",
            source=f"instrument definitions: {definitions}",
            rounding=[{"columns": "max_missing_items", "style": "integer"}],
        )
    )
    unverified = unverified_settings_table(
        chosen, {k: v for k, v in options.items() if k in chosen}
    )
    if len(unverified):
        files = {name: _shown(i.source_file, root) for name, i in chosen.items()}
        unverified["definition_file"] = unverified["instrument"].map(files)
    scoring_sub.blocks.append(
        TableBlock(
            unverified,
            caption="Settings public sources do not confirm (edit them in the instrument files)",
            source=f"instrument definitions: {definitions}",
            rounding=[{"columns": ".*", "style": "text"}],
        )
        if len(unverified)
        else TextBlock("Every instrument setting used is confirmed by public sources.")
    )
    subsections = [models_sub, scoring_sub]
    estimands_sub = estimands_section(config, f"{section_id}-estimands")
    if estimands_sub.blocks:
        subsections.append(estimands_sub)
    return Section("Methods", blocks=blocks, id=section_id, subsections=subsections)


def analysis_settings_lines(config: Mapping) -> list[str]:
    """State the configured df policy, multiplicity and sensitivity analyses, one line each.

    Parameters
    ----------
    config : mapping
        The effective (validated) config; trials or keys it lacks are left out.

    Returns
    -------
    list of str
    """
    lines = []
    patients = config.get("betterback", {}).get("analyses", {}).get("patients", {})
    if patients:
        multiplicity = patients.get("multiplicity", {})
        lines.append(
            f"BetterBack degrees of freedom: policy `{patients.get('df_policy', 'model')}` "
            "(`betterback.analyses.patients.df_policy`; model = the mixed models' "
            f"{patients.get('df_method', 'kenward-roger')} df and t on K − p for the GEE, "
            "cluster-level = t on K − p for both)."
        )
        lines.append(
            "BetterBack primary family (the primary outcomes at the primary time point): "
            f"multiplicity `{multiplicity.get('method', 'none')}`"
            + (f", order {', '.join(multiplicity['order'])}" if multiplicity.get("order") else "")
            + " (`betterback.analyses.patients.multiplicity`)."
        )
    sensitivity = config.get("betterback", {}).get("analyses", {}).get("sensitivity", {})
    if sensitivity.get("inference"):
        lines.append(
            "BetterBack inference set: "
            + ", ".join(sensitivity["inference"])
            + " (`betterback.analyses.sensitivity.inference`)."
        )
    delta = sensitivity.get("delta_adjustment", {})
    if delta and sensitivity.get("multiple_imputation", {}).get("m", 0):
        lines.append(
            "BetterBack departures from MAR: imputed values shifted in the "
            f"{delta.get('arms', 'intervention')} condition by "
            f"{', '.join(f'{d:g}' for d in delta.get('grid_sd', []))} baseline SDs "
            "(`betterback.analyses.sensitivity.delta_adjustment`)."
        )
    prepare = config.get("prepare", {}).get("analyses", {})
    if prepare:
        multiplicity = prepare.get("multiplicity", {})
        lines.append(
            f"PREPARE primary family: multiplicity `{multiplicity.get('method', 'none')}` "
            "(`prepare.analyses.multiplicity`); secondary outcomes without a baseline value: "
            f"`{prepare.get('missing_baseline', 'clda')}` (`prepare.analyses.missing_baseline`)."
        )
        delta = prepare.get("delta_adjustment", {})
        if delta:
            lines.append(
                "PREPARE departures from MAR: ANCOVA on each imputed data set with the imputed "
                f"primary outcome shifted in the {delta.get('arms', 'intervention')} arm by "
                f"{', '.join(f'{d:g}' for d in delta.get('grid_sd', []))} baseline SDs "
                "(`prepare.analyses.delta_adjustment`)."
            )
        cace = prepare.get("cace", {})
        if cace:
            threshold = cace.get("threshold") or prepare.get("dose", {}).get("threshold")
            lines.append(
                "PREPARE complier-average causal effect: two-stage least squares with the "
                f"randomised arm as instrument and receipt = at least {threshold} sessions, "
                f"{cace.get('vcov', 'HC1')} standard errors (`prepare.analyses.cace`); the "
                "per-protocol dose comparison beside it is not randomised."
            )
    return lines


def _suppression_rule(config: Mapping) -> SuppressionRule:
    """Return the run's suppression rule; a partial config falls back to the defaults."""
    if "privacy" in config and "reporting" in config:
        return SuppressionRule.from_config(config)
    return default_rule()
