import pytest

from tests.instruments.helpers import CONFIG_DIR
from trialanalysis.instruments import load_instruments


@pytest.fixture(scope="session")
def instruments():
    return load_instruments(CONFIG_DIR)
