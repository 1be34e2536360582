"""Allow ``python -m trialanalysis``."""

import sys

from trialanalysis.cli import main

sys.exit(main())
