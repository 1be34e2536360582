"""Allow ``python -m trialanalysis``."""

import sys

from trialanalysis.cli.main import main

sys.exit(main())
