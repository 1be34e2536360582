"""Hand-worked examples from the scoring manuals, one block per instrument.

The expected values are worked out by hand in the comments; nothing here is
computed by the code under test.
"""

import numpy as np
import pandas as pd
import pytest

from tests.instruments.helpers import items_frame
from trialanalysis.instruments.scoring import score_instrument

nan = np.nan


def scored(instruments, name, rows, **options):
    instrument = instruments[name]
    return score_instrument(items_frame(instrument, rows), instrument, **options)


def values(frame, column):
    return frame[column].to_numpy(dtype=float)


def labels(frame, column):
    return [None if pd.isna(v) else v for v in frame[column]]


# --- EQ-5D-3L -----------------------------------------------------------------


def test_eq5d_uk_dolan_boundaries_and_known_states(instruments):
    out = scored(
        instruments,
        "eq5d",
        [
            [1, 1, 1, 1, 1],  # full health = 1
            [3, 3, 3, 3, 3],  # 1 - .081 - .269 - (.314+.214+.094+.386+.236) = -0.594
            [1, 1, 1, 2, 1],  # 1 - .081 - .123 = 0.796
            [1, 1, 1, 1, 2],  # 1 - .081 - .071 = 0.848
            [2, 1, 2, 3, 2],  # 1 - .081 - .269 - .069 - .036 - .386 - .071 = 0.088
            [2, 1, 2, 3, nan],  # a missing dimension -> missing index
        ],
    )
    assert values(out, "eq5d_index") == pytest.approx(
        [1.0, -0.594, 0.796, 0.848, 0.088, nan], abs=1e-12, nan_ok=True
    )


def test_eq5d_swedish_experience_based_full_health_option(instruments):
    rows = [
        [1, 1, 1, 1, 1],  # model: 0.9694
        [3, 3, 3, 3, 3],  # .9694 - .0433 - (.1247+.0276+.1355+.0904+.2077) = 0.3402
        [2, 1, 2, 3, 2],  # .9694 - .0433 - .0666 - .1012 - .0904 - .0552 = 0.6127
        [1, 1, 1, 2, 1],  # .9694 - .0345 = 0.9349
    ]
    se = "se_experience_burstrom2014"
    model = scored(instruments, "eq5d", rows, value_set=se)
    assert values(model, "eq5d_index") == pytest.approx(
        [0.9694, 0.3402, 0.6127, 0.9349], abs=1e-12
    )
    one = scored(instruments, "eq5d", rows, value_set=se, full_health=1.0)
    assert values(one, "eq5d_index") == pytest.approx([1.0, 0.3402, 0.6127, 0.9349], abs=1e-12)
    # the option also accepts text, as typed on the command line
    text = scored(instruments, "eq5d", rows, value_set=se, full_health="1")
    assert values(text, "eq5d_index")[0] == 1.0


def test_eqvas(instruments):
    out = scored(instruments, "eqvas", [[0], [73], [100], [nan]])
    assert values(out, "eqvas_score") == pytest.approx([0, 73, 100, nan], nan_ok=True)


# --- ODI ----------------------------------------------------------------------


def test_odi_missing_sections(instruments):
    out = scored(
        instruments,
        "odi",
        [
            [1] * 10,  # 10 / 50 * 100 = 20
            [2, 3, 1, 0, 4, 2, 1, nan, 3, 2],  # one missing: 18 / (5 * 9) * 100 = 40
            [2, 3, 1, 0, 4, 2, 1, nan, nan, 2],  # two missing -> missing
            [0] * 10,  # 0
            [5] * 10,  # 100
            [5, 5, 5, 5, 5, 5, 5, 5, 5, nan],  # 45 / 45 * 100 = 100
        ],
    )
    assert values(out, "odi_total") == pytest.approx(
        [20, 40, nan, 0, 100, 100], abs=1e-12, nan_ok=True
    )
    # exact for whole-number data: no 40.000000000000004
    assert values(out, "odi_total")[1] == 40.0


# --- pain scales ----------------------------------------------------------------


def test_nrs_and_vas(instruments):
    nrs = scored(instruments, "nrs", [[3, 7], [0, nan], [10, 10]])
    assert values(nrs, "nrs_back") == pytest.approx([3, 0, 10])
    assert values(nrs, "nrs_leg") == pytest.approx([7, nan, 10], nan_ok=True)
    vas = scored(instruments, "vas", [[45.5, 0], [100, 12]])  # VAS mm may be fractional
    assert values(vas, "vas_back") == pytest.approx([45.5, 100])
    assert values(vas, "vas_leg") == pytest.approx([0, 12])


# --- STarT Back -------------------------------------------------------------------


def test_startback_groups_and_item9_recode(instruments):
    out = scored(
        instruments,
        "startback",
        [
            # items 1-8 (agree = 1), item 9 raw 1-5 (4 very much, 5 extremely -> 1)
            [1, 1, 1, 0, 0, 0, 0, 0, 3],  # total 3 -> low
            [1, 1, 1, 1, 0, 0, 0, 0, 1],  # total 4, psychosocial 0 -> medium
            [1, 1, 1, 1, 1, 1, 1, 0, 3],  # total 7, psychosocial 3 -> medium
            [0, 0, 0, 0, 1, 1, 1, 0, 3],  # item 9 moderately -> 0: total 3 -> low
            [0, 0, 0, 0, 1, 1, 1, 0, 4],  # item 9 very much -> 1: psychosocial 4 -> high
            [0, 0, 0, 0, 1, 1, 1, 0, 5],  # item 9 extremely -> 1: high
            [0, 0, 0, 0, 1, 1, 1, 1, 2],  # psychosocial 4 without item 9 -> high
            [1, 1, 1, 1, 1, 1, 1, 1, 5],  # total 9, psychosocial 5 -> high
            [0, 0, 0, 0, 0, 0, 0, 0, 1],  # total 0 -> low
            [1, 1, 1, 1, 1, 1, 1, 1, nan],  # item 9 missing -> no score, no group
        ],
    )
    assert values(out, "startback_total") == pytest.approx(
        [3, 4, 7, 3, 4, 4, 4, 9, 0, nan], nan_ok=True
    )
    assert values(out, "startback_psychosocial") == pytest.approx(
        [0, 0, 3, 3, 4, 4, 4, 5, 0, nan], nan_ok=True
    )
    assert labels(out, "startback_risk") == [
        "low",
        "medium",
        "medium",
        "low",
        "high",
        "high",
        "high",
        "high",
        "low",
        None,
    ]
    assert list(out["startback_risk"].cat.categories) == ["low", "medium", "high"]
    assert out["startback_risk"].cat.ordered


# --- HADS ---------------------------------------------------------------------------


def hads_row(anxiety, depression):
    """Items 1, 3, ..., 13 for anxiety and 2, 4, ..., 14 for depression."""
    row = [0] * 14
    for position, value in enumerate(anxiety):
        row[2 * position] = value
    for position, value in enumerate(depression):
        row[2 * position + 1] = value
    return row


def test_hads_subscales_and_bands(instruments):
    out = scored(
        instruments,
        "hads",
        [
            hads_row([1] * 7, [0] * 7),  # A 7 normal, D 0 normal
            hads_row([1] * 6 + [2], [2, 2, 2, 2, 0, 0, 0]),  # A 8 borderline, D 8 borderline
            hads_row([3, 3, 3, 1, 0, 0, 0], [3, 3, 3, 2, 0, 0, 0]),  # A 10, D 11
            hads_row([3] * 7, [1, 1, 1, 1, 1, 1, 1]),  # A 21 case, D 7 normal
            hads_row([3, 3, 3, 2, 0, 0, nan], [2] * 7),  # A missing item -> missing; D 14
        ],
    )
    assert values(out, "hads_anxiety") == pytest.approx([7, 8, 10, 21, nan], nan_ok=True)
    assert values(out, "hads_depression") == pytest.approx([0, 8, 11, 7, 14])
    assert labels(out, "hads_anxiety_band") == [
        "normal",
        "borderline",
        "borderline",
        "case",
        None,
    ]
    assert labels(out, "hads_depression_band") == [
        "normal",
        "borderline",
        "case",
        "normal",
        "case",
    ]


# --- TSK ---------------------------------------------------------------------------


def test_tsk_reverse_items_and_high_band(instruments):
    # reverse items 4, 8, 12, 16 are scored 5 - x on the 1-4 scale
    all_two = [2] * 17  # 13 x 2 + 4 x (5 - 2) = 38 -> high
    thirty_seven = [1] + [2] * 16  # 1 + 12 x 2 + 4 x 3 = 37 -> not high
    minimum = [4 if i in (4, 8, 12, 16) else 1 for i in range(1, 18)]  # 13 + 4 = 17
    maximum = [1 if i in (4, 8, 12, 16) else 4 for i in range(1, 18)]  # 52 + 16 = 68
    out = scored(instruments, "tsk", [all_two, thirty_seven, minimum, maximum])
    assert values(out, "tsk_total") == pytest.approx([38, 37, 17, 68])
    assert labels(out, "tsk_high") == ["yes", "no", "no", "yes"]


# --- BIPQ ---------------------------------------------------------------------------


def test_bipq_reverse_items(instruments):
    out = scored(
        instruments,
        "bipq",
        [
            # items 3, 4, 7 reversed (10 - x): 5 + 5 + 8 + 7 + 7 + 4 + 9 + 6 = 51
            [5, 5, 2, 3, 7, 4, 1, 6],
            [0, 0, 10, 10, 0, 0, 10, 0],  # least threatening: 0
            [10, 10, 0, 0, 10, 10, 0, 10],  # most threatening: 80
            [5, 5, 2, 3, 7, 4, 1, nan],  # missing item -> missing
        ],
    )
    assert values(out, "bipq_total") == pytest.approx([51, 0, 80, nan], nan_ok=True)


# --- FABQ ---------------------------------------------------------------------------


def test_fabq_subscales(instruments):
    row = [i % 7 for i in range(1, 17)]  # item i = i mod 7
    # physical activity: items 2-5 = 2 + 3 + 4 + 5 = 14
    # work: items 6, 7, 9, 10, 11, 12, 15 = 6 + 0 + 2 + 3 + 4 + 5 + 1 = 21
    unscored_missing = list(row)
    unscored_missing[0] = nan  # item 1 is in no subscale
    unscored_missing[7] = nan  # item 8 neither
    work_missing = list(row)
    work_missing[14] = nan  # item 15
    out = scored(instruments, "fabq", [row, unscored_missing, work_missing])
    assert values(out, "fabq_physical_activity") == pytest.approx([14, 14, 14])
    assert values(out, "fabq_work") == pytest.approx([21, 21, nan], nan_ok=True)


# --- PEI ----------------------------------------------------------------------------


def test_pei_not_applicable(instruments):
    # codes: 0 same or less, 1 better, 2 much better, 3 not applicable (scored 0)
    out = scored(
        instruments,
        "pei",
        [
            [2, 1, 0, 3, 2, 1],  # 2 + 1 + 0 + 0 + 2 + 1 = 6
            [3] * 6,  # 0
            [2] * 6,  # 12
            [2, 2, 2, 2, 2, nan],  # missing -> missing
        ],
    )
    assert values(out, "pei_total") == pytest.approx([6, 0, 12, nan], nan_ok=True)


# --- therapist instruments ----------------------------------------------------------


def test_pabs_subscales_with_proration(instruments):
    bm = [6, 5, 4, 3, 2, 1, 6, 5, 4, 3]  # 39
    bps = [2] * 9  # 18
    one_missing = [nan, *bm[1:]]  # (39 - 6) / 9 x 10 = 36.666...
    two_missing = [nan, nan, *bm[2:]]
    out = scored(instruments, "pabs", [bm + bps, one_missing + bps, [*two_missing, nan, *bps[1:]]])
    assert values(out, "pabs_bm") == pytest.approx([39, 330 / 9, nan], nan_ok=True)
    # bps with one missing item of nine, all 2: prorated 2 x 9 = 18
    assert values(out, "pabs_bps") == pytest.approx([18, 18, 18])


def test_pcs_sum(instruments):
    out = scored(instruments, "pcs", [[1, 2, 3, 4], [5, 5, 5, 5], [1, 1, 1, nan]])
    assert values(out, "pcs_total") == pytest.approx([10, 20, nan], nan_ok=True)


def test_dibq_domains_on_0_100_and_raw_mean(instruments):
    row = [nan] * 28
    row[0:3] = [7, 7, 7]  # knowledge: mean 7 -> 100
    row[3:6] = [1, 1, 1]  # skills: mean 1 -> 0
    row[6:9] = [4, 5, 6]  # beliefs about capabilities: mean 5 -> (5 - 1) / 6 x 100
    row[9:12] = [2, nan, 3]  # beliefs about consequences: one missing, mean 2.5 -> 25
    row[12:15] = [3, nan, nan]  # intentions: two missing -> missing
    row[15:17] = [6, nan]  # innovation (2 items), one missing: (6 - 1) / 6 x 100
    out = scored(instruments, "dibq", [row])
    assert out["dibq_knowledge"].iloc[0] == pytest.approx(100)
    assert out["dibq_skills"].iloc[0] == pytest.approx(0)
    assert out["dibq_beliefs_capabilities"].iloc[0] == pytest.approx(400 / 6)
    assert out["dibq_beliefs_consequences"].iloc[0] == pytest.approx(25)
    assert np.isnan(out["dibq_intentions"].iloc[0])
    assert out["dibq_innovation"].iloc[0] == pytest.approx(500 / 6)
    assert np.isnan(out["dibq_organisation"].iloc[0])  # no answers
    raw = scored(instruments, "dibq", [row], transform="none")
    assert raw["dibq_beliefs_capabilities"].iloc[0] == pytest.approx(5)
    assert raw["dibq_beliefs_consequences"].iloc[0] == pytest.approx(2.5)


def test_cpqi_mapped_columns_and_reversed_indicators(instruments):
    cpqi = instruments["cpqi"]
    assert list(cpqi.item_columns.values()) == [
        "referral_specialist",
        "referral_imaging",
        "education_given",
        "exercise_given",
        "non_evidence_treatment",
    ]
    data = pd.DataFrame(
        {
            "patient_id": ["a", "b", "c"],
            "referral_specialist": [1, 0, 0],
            "referral_imaging": [0, 0, 1],
            "education_given": [1, 1, 0],
            "exercise_given": [1, 1, 0],
            "non_evidence_treatment": [0, 0, 1],
        }
    )
    out = score_instrument(data, cpqi)
    assert values(out, "cpqi_no_specialist_referral") == pytest.approx([0, 1, 1])
    assert values(out, "cpqi_no_imaging_referral") == pytest.approx([1, 1, 0])
    assert values(out, "cpqi_education") == pytest.approx([1, 1, 0])
    assert values(out, "cpqi_no_non_evidence_treatment") == pytest.approx([1, 1, 0])
    assert values(out, "cpqi_total") == pytest.approx([4, 5, 1])
    assert list(out["patient_id"]) == ["a", "b", "c"]


# --- PREPARE extras -------------------------------------------------------------------


def test_ses_pal_walk(instruments):
    ses = scored(instruments, "ses", [[10] * 16, [5] * 15 + [nan], [5] * 14 + [nan, nan]])
    # one missing item prorated: mean 5 x 16 = 80; two missing -> missing
    assert values(ses, "ses_total") == pytest.approx([160, 80, nan], nan_ok=True)
    assert values(scored(instruments, "pal", [[3]]), "pal_level") == pytest.approx([3])
    walk = scored(instruments, "walk", [[8.25]])
    assert values(walk, "walk_10m_time") == pytest.approx([8.25])
