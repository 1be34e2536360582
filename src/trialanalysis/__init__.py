"""trialanalysis: reproducible analysis of the BetterBack and PREPARE trials."""

__version__ = "0.1.0"

__all__ = ["__version__", "fit_mixed"]


def __getattr__(name: str):
    # Imported on first use so that `import trialanalysis` (e.g. the CLI's
    # --version) does not load the statistics stack.
    if name == "fit_mixed":
        from trialanalysis.models.mixed import fit_mixed

        return fit_mixed
    raise AttributeError(f"module 'trialanalysis' has no attribute {name!r}")
