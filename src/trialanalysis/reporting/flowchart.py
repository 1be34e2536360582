"""CONSORT flow diagrams: boxes and arrows drawn with matplotlib.

:func:`flow_chart` draws any top-down flow from a list of stages (each a row
of boxes); :func:`betterback_diagram`, :func:`therapist_diagram` and
:func:`prepare_diagram` fill it from the tidy counts of
:mod:`trialanalysis.reporting.consort`, so every number in a diagram is a
number of that table. Save with :func:`trialanalysis.reporting.figures.save_figure`.
"""

from __future__ import annotations

import itertools
import textwrap
from dataclasses import dataclass

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.patches import FancyBboxPatch

from trialanalysis.errors import ReportError
from trialanalysis.reporting.figures import STYLE, new_figure
from trialanalysis.reporting.labels import Labels, default_labels, in_sentence, plural

FONT_SIZE = 7.5
CHAR_WIDTH = 0.068  # inches per character at FONT_SIZE (generous, so text fits)
LINE_HEIGHT = 0.16  # inches per line
PAD = 0.08
GAP = 0.32
LABEL_WIDTH = 1.05
STAGE_COLOUR = "#deebf7"


@dataclass
class FlowStage:
    """One row of a flow diagram: a stage label and one or more boxes of text."""

    label: str
    boxes: list[str]


def _wrap(text: str, width_chars: int) -> list[str]:
    lines = []
    for line in text.splitlines() or [""]:
        wrapped = textwrap.wrap(line, max(width_chars, 8), break_long_words=False)
        lines += wrapped or [""]
    return lines


def flow_chart(stages: list[FlowStage], width: float = 7.0, title: str | None = None):
    """Draw a top-down flow diagram.

    Consecutive stages with the same number of boxes are joined box to box;
    otherwise through a horizontal connector (fan-in / fan-out), as in CONSORT.

    Parameters
    ----------
    stages : list of FlowStage
    width : float
        Figure width in inches (the left ``LABEL_WIDTH`` holds the stage labels).
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not stages or any(not s.boxes for s in stages):
        raise ReportError("a flow diagram needs at least one stage, each with at least one box")
    usable = width - LABEL_WIDTH
    layout, y = [], 0.0
    for stage in stages:
        slot = usable / len(stage.boxes)
        box_width = slot * 0.9
        texts = [_wrap(t, int((box_width - 2 * PAD) / CHAR_WIDTH)) for t in stage.boxes]
        heights = [len(t) * LINE_HEIGHT + 2 * PAD for t in texts]
        centres = [LABEL_WIDTH + slot * (i + 0.5) for i in range(len(stage.boxes))]
        layout.append((stage, texts, heights, centres, box_width, y))
        y += max(heights) + GAP
    total = y - GAP
    fig, ax = new_figure(width, total + 0.1)
    ax.set_xlim(0, width)
    ax.set_ylim(total + 0.05, -0.05)
    ax.axis("off")
    with plt.rc_context(STYLE):
        for stage, texts, heights, centres, box_width, top in layout:
            row_height = max(heights)
            ax.add_patch(
                FancyBboxPatch(
                    (0.02, top),
                    LABEL_WIDTH - 0.12,
                    row_height,
                    boxstyle="round,pad=0,rounding_size=0.04",
                    facecolor=STAGE_COLOUR,
                    edgecolor="none",
                )
            )
            ax.text(
                0.02 + (LABEL_WIDTH - 0.12) / 2,
                top + row_height / 2,
                "\n".join(_wrap(stage.label, 12)),
                ha="center",
                va="center",
                fontsize=FONT_SIZE,
                fontweight="bold",
            )
            for lines, height, centre in zip(texts, heights, centres, strict=True):
                ax.add_patch(
                    FancyBboxPatch(
                        (centre - box_width / 2, top),
                        box_width,
                        height,
                        boxstyle="square,pad=0",
                        facecolor="white",
                        edgecolor="black",
                        lw=0.8,
                    )
                )
                ax.text(
                    centre - box_width / 2 + PAD,
                    top + PAD,
                    "\n".join(lines),
                    ha="left",
                    va="top",
                    fontsize=FONT_SIZE,
                    linespacing=1.25,
                )
        for upper, lower in itertools.pairwise(layout):
            _connect(ax, upper, lower)
    if title:
        ax.set_title(title, fontsize=9, loc="left")
    return fig


def _connect(ax, upper, lower) -> None:
    _, _, up_heights, up_centres, _, up_top = upper
    _, _, _, low_centres, _, low_top = lower
    arrow = {"arrowstyle": "-|>", "lw": 0.8, "color": "black", "shrinkA": 0, "shrinkB": 0}
    bottoms = [up_top + h for h in up_heights]
    if len(up_centres) == len(low_centres):
        for x, bottom in zip(up_centres, bottoms, strict=True):
            ax.annotate("", xy=(x, low_top), xytext=(x, bottom), arrowprops=arrow)
        return
    bus = low_top - GAP / 2
    for x, bottom in zip(up_centres, bottoms, strict=True):
        ax.plot([x, x], [bottom, bus], color="black", lw=0.8)
    xs = up_centres + low_centres
    ax.plot([min(xs), max(xs)], [bus, bus], color="black", lw=0.8)
    for x in low_centres:
        ax.annotate("", xy=(x, low_top), xytext=(x, bus), arrowprops=arrow)


def _n(counts: pd.DataFrame, level: str, group: str, stage: str, timepoint=None) -> str:
    rows = counts[
        (counts["level"] == level) & (counts["group"] == group) & (counts["stage"] == stage)
    ]
    rows = (
        rows[rows["timepoint"].isna()]
        if timepoint is None
        else rows[rows["timepoint"] == timepoint]
    )
    if len(rows) != 1:
        raise ReportError(
            f"CONSORT counts: expected one row for {level}/{group}/{stage}/{timepoint}, "
            f"found {len(rows)}; pass the table made by trialanalysis.reporting.consort"
        )
    return _shown(rows["n"].iloc[0])


def _shown(value) -> str:
    """Return a count as the suppressed flow table holds it: a number, or the marker."""
    return value if isinstance(value, str) else str(int(value))


def _sum(values) -> str:
    """Return the sum of counts, or the suppression marker when any of them is hidden."""
    values = list(values)
    hidden = [v for v in values if isinstance(v, str) and not v.isdigit()]
    return hidden[0] if hidden else str(sum(int(v) for v in values))


def _timepoints(counts: pd.DataFrame, level: str) -> list[str]:
    rows = counts[(counts["level"] == level) & (counts["stage"] == "followed_up")]
    return list(dict.fromkeys(rows["timepoint"]))


def _followup_stages(counts, level, groups, noun, labels: Labels) -> list[FlowStage]:
    stages = []
    for i, timepoint in enumerate(_timepoints(counts, level)):
        boxes = []
        for group in groups:
            seen = _n(counts, level, group, "followed_up", timepoint)
            lost = _n(counts, level, group, "lost_to_follow_up", timepoint)
            boxes.append(f"{noun} returned: {seen}\nMissing / lost: {lost}")
        label = "Baseline" if i == 0 else f"Follow-up {in_sentence(labels(timepoint))}"
        stages.append(FlowStage(label, boxes))
    return stages


def _analysis_stage(counts, level, groups, labels: Labels) -> list[FlowStage]:
    analysed = counts[(counts["level"] == level) & (counts["stage"] == "analysed")]
    if analysed.empty:
        return [FlowStage("Analysis", ["Analysed: not reported by the analysis"] * len(groups))]
    boxes = []
    for group in groups:
        mine = analysed[analysed["group"] == group]
        if mine["timepoint"].isna().all():
            excluded = _n(counts, level, group, "not_analysed")
            boxes.append(f"Analysed: {_sum(mine['n'])}\nNot analysed: {excluded}")
        else:
            boxes.append(
                "Analysed\n"
                + "\n".join(
                    f"{labels(t)}: {_shown(n)}"
                    for t, n in zip(mine["timepoint"], mine["n"], strict=True)
                )
            )
    return [FlowStage("Analysis", boxes)]


def eligibility_stages(counts: pd.DataFrame, labels: Labels | None = None) -> list[FlowStage]:
    """Return the eligibility box (assessed, excluded with reasons) from a screening log."""
    labels = labels or default_labels()
    screened = counts[counts["level"] == "screened"]
    if screened.empty:
        return []
    excluded = screened[screened["stage"] == "excluded"]
    lines = [f"Assessed for eligibility: {_n(counts, 'screened', 'all', 'assessed')}"]
    lines.append(f"Excluded: {_sum(excluded['n'])}")
    lines += [
        f"  {in_sentence(labels(g)).replace('_', ' ')}: {_shown(n)}"
        for g, n in zip(excluded["group"], excluded["n"], strict=True)
    ]
    lines.append(f"Included: {_n(counts, 'screened', 'all', 'included')}")
    return [FlowStage("Enrolment", ["\n".join(lines)])]


#: How the reasons for not being analysed read in a diagram box.
REASON_TEXT = {"n_no_follow_up": "no value", "n_no_baseline": "no baseline", "n_other": "other"}
#: The rows of the analysed counts drawn (the models; responder analyses are in the table).


def analysed_stage(
    analysed: pd.DataFrame,
    groups,
    outcomes,
    timepoints,
    labels: Labels | None = None,
) -> FlowStage:
    """Return the "Analysis" row of a flow diagram from the analysed counts of each outcome.

    Parameters
    ----------
    analysed : DataFrame
        From :func:`trialanalysis.reporting.analysed.analysed_counts`, already
        suppressed (counts may be the marker).
    groups : sequence of str
        One box per group (arm or condition).
    outcomes, timepoints : sequence of str
        The outcomes (e.g. the primary ones) and time points shown.
    labels : Labels, optional
    """
    labels = labels or default_labels()
    boxes = []
    for group in groups:
        lines = []
        for outcome in outcomes:
            short = labels(outcome).split(" (")[0]
            for timepoint in timepoints:
                row = analysed[
                    (analysed["analysis"] == "mixed model")
                    & (analysed["group"] == group)
                    & (analysed["outcome"] == outcome)
                    & (analysed["timepoint"] == timepoint)
                ]
                if len(row) != 1:
                    continue
                r = row.iloc[0]
                reasons = [
                    f"{_shown(r[c])} {text}" for c, text in REASON_TEXT.items() if str(r[c]) != "0"
                ]
                line = f"{short}, {in_sentence(labels(timepoint))}: {_shown(r['n_analysed'])}"
                lines.append(line + (f" ({', '.join(reasons)})" if reasons else ""))
        boxes.append("Analysed (excluded)\n" + "\n".join(lines or ["not reported"]))
    return FlowStage("Analysis", boxes)


def betterback_diagram(
    counts: pd.DataFrame,
    sizes: pd.DataFrame | None = None,
    labels: Labels | None = None,
    analysis: FlowStage | None = None,
):
    """Draw the BetterBack flow of clusters, clinics and patients per condition.

    Parameters
    ----------
    counts : DataFrame
        From :func:`trialanalysis.reporting.consort.betterback_flow`.
    sizes : DataFrame, optional
        From :func:`trialanalysis.reporting.consort.patients_per_clinic`; adds
        patients per clinic to the recruitment boxes.
    labels : Labels, optional
        Names of conditions and time points (default: the built-in labels).
    analysis : FlowStage, optional
        The analysis row (:func:`analysed_stage`); default: the ``analysed``
        rows of ``counts``.
    """
    labels = labels or default_labels()
    allocation = counts[
        (counts["level"] == "allocation_cluster") & (counts["stage"] == "allocated")
    ]
    sequences = list(allocation["group"])
    n_clusters = _sum(allocation["n"])
    n_clinics = _sum(_n(counts, "clinic", s, "allocated") for s in sequences)
    n_therapists = _sum(_n(counts, "therapist", s, "recruited") for s in sequences)
    stages = [
        *eligibility_stages(counts, labels),
        FlowStage(
            "Allocation",
            [
                f"Allocated to {plural(len(sequences), 'sequence')}: "
                f"{plural(n_clusters, 'allocation cluster')}, {plural(n_clinics, 'clinic')}, "
                f"{plural(n_therapists, 'therapist')}"
            ],
        ),
        FlowStage(
            "Sequences",
            [
                f"{s}\nClusters: {_n(counts, 'allocation_cluster', s, 'allocated')}\n"
                f"Clinics: {_n(counts, 'clinic', s, 'allocated')}\n"
                f"Therapists: {_n(counts, 'therapist', s, 'recruited')}\n"
                f"Patients: {_n(counts, 'patient', s, 'recruited')}"
                for s in sequences
            ],
        ),
    ]
    groups = ["control", "intervention"]
    boxes = []
    for group in groups:
        text = (
            f"{labels(group)} periods\n"
            f"Patients recruited: {_n(counts, 'patient', group, 'recruited')}\n"
            f"Clinics recruiting: {_n(counts, 'clinic', group, 'recruiting')}\n"
            f"Therapists treating: {_n(counts, 'therapist', group, 'treating')}"
        )
        if sizes is not None:
            row = sizes[sizes["group"] == group]
            if len(row) == 1:
                r = row.iloc[0]
                text += (
                    f"\nPatients per clinic: median {r['size_median']:g} "
                    f"(range {_shown(r['size_min'])}-{_shown(r['size_max'])})"
                )
        boxes.append(text)
    stages.append(FlowStage("Recruitment", boxes))
    stages += _followup_stages(counts, "patient", groups, "Questionnaires", labels)
    stages += [analysis] if analysis else _analysis_stage(counts, "patient", groups, labels)
    return flow_chart(stages, width=7.5)


def therapist_diagram(counts: pd.DataFrame, labels: Labels | None = None):
    """Draw the flow of the BetterBack therapist questionnaire cohort."""
    labels = labels or default_labels()
    n = _n(counts, "therapist", "all", "recruited")
    stages = [FlowStage("Recruitment", [f"Therapists recruited: {n}"])]
    stages += _followup_stages(counts, "therapist", ["all"], "Questionnaires", labels)
    return flow_chart(stages, width=4.5)


def prepare_diagram(
    counts: pd.DataFrame, labels: Labels | None = None, analysis: FlowStage | None = None
):
    """Draw the PREPARE flow of individuals per arm (order of the counts table).

    ``analysis``: the analysis row (:func:`analysed_stage`); default: the
    ``analysed`` rows of ``counts``.
    """
    labels = labels or default_labels()
    arms = list(counts.loc[counts["stage"] == "allocated", "group"])
    stages = [
        *eligibility_stages(counts, labels),
        FlowStage("Randomisation", [f"Randomised: {_n(counts, 'patient', 'all', 'randomised')}"]),
    ]
    boxes = []
    for arm in arms:
        text = (
            f"Allocated to {in_sentence(labels(arm))}: {_n(counts, 'patient', arm, 'allocated')}"
        )
        mine = counts[counts["group"] == arm]
        if (mine["stage"] == "attended_any_session").any():
            attended = _n(counts, "patient", arm, "attended_any_session")
            text += f"\nAttended at least one session: {attended}"
        if (mine["stage"] == "operated").any():
            text += f"\nOperated: {_n(counts, 'patient', arm, 'operated')}"
        boxes.append(text)
    stages.append(FlowStage("Allocation", boxes))
    stages += _followup_stages(counts, "patient", arms, "Questionnaires", labels)
    stages += [analysis] if analysis else _analysis_stage(counts, "patient", arms, labels)
    return flow_chart(stages, width=6.5)
