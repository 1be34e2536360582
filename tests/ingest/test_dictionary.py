"""The committed data dictionary is generated from the contract and must be current."""

from __future__ import annotations

from tests.ingest.helpers import INSTRUMENTS_DIR, REPO
from trialanalysis.ingest.dictionary import main, render_dictionary


def test_committed_data_dictionary_is_up_to_date():
    committed = (REPO / "docs" / "data_dictionary.md").read_text(encoding="utf-8")
    current = render_dictionary({"instruments_dir": str(INSTRUMENTS_DIR)})
    assert committed == current, (
        "docs/data_dictionary.md is out of date: run "
        "`python -m trialanalysis.ingest.dictionary` from the repository root and commit it"
    )


def test_dictionary_follows_the_config(tmp_path):
    config = {
        "instruments_dir": str(INSTRUMENTS_DIR),
        "prepare": {"arms": ["usual_care", "prehab"], "instruments": {"outcomes": ["odi"]}},
    }
    text = render_dictionary(config)
    assert "`usual_care`, `prehab`" in text
    assert "`odi_1` ... `odi_10` | whole number | no | 0 to 5" in text
    assert "`tsk_1`" not in text.split("## PREPARE")[1]
    out = tmp_path / "dd.md"
    assert main(["--out", str(out), "--instruments", str(INSTRUMENTS_DIR)]) == 0
    assert out.read_text(encoding="utf-8") == render_dictionary(
        {"instruments_dir": str(INSTRUMENTS_DIR)}
    )
