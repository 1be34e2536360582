"""trialanalysis: reproducible analysis of the BetterBack and PREPARE trials."""

__version__ = "0.1.0"
