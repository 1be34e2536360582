"""The ``trialanalysis`` command line.

Each subcommand is a small function that parses its own arguments and calls
one package function; user errors end with a message and exit status 2,
never with a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from trialanalysis import __version__
from trialanalysis.errors import TrialAnalysisError


def _add_simulate(subparsers) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="write simulated BetterBack and PREPARE raw data with known truth",
        description="Simulate both trials from the true parameters in a simulation config.",
    )
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: config)")
    parser.add_argument("--out", required=True, help="output folder (created if needed)")
    parser.add_argument(
        "--config",
        default="config/simulation.yaml",
        help="simulation parameters (default: %(default)s)",
    )
    parser.add_argument(
        "--instruments",
        default="config/instruments",
        help="folder of instrument definitions (default: %(default)s)",
    )
    parser.set_defaults(handler=_run_simulate)


def _run_simulate(args: argparse.Namespace) -> int:
    from trialanalysis.cli.simulate import simulate_to_folder

    written = simulate_to_folder(
        args.out, config=args.config, instruments=args.instruments, seed=args.seed
    )
    for path in written:
        print(path)
    return 0


def _add_score(subparsers) -> None:
    parser = subparsers.add_parser(
        "score",
        help="add an instrument's score columns to a CSV or XLSX table",
        description=(
            "Score one instrument from its definition: reads a table whose item columns "
            "follow <instrument>_<n> (or the definition's items.columns), keeps every "
            "other column and adds the score and classification columns."
        ),
    )
    parser.add_argument("instrument", help="instrument name, e.g. odi or eq5d")
    parser.add_argument("input", help="input table (.csv or .xlsx)")
    parser.add_argument("-o", "--output", required=True, help="output table (.csv or .xlsx)")
    parser.add_argument(
        "--instruments",
        default=None,
        help="folder of instrument definitions (default: the package's built-in definitions)",
    )
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=(
            "scoring option, repeatable: value_set=NAME, full_health=NUMBER|model, "
            "transform=none|percent, max_missing=N"
        ),
    )
    parser.set_defaults(handler=_run_score)


def _run_score(args: argparse.Namespace) -> int:
    from trialanalysis.cli.score import parse_options, score_file

    written = score_file(
        args.instrument,
        args.input,
        args.output,
        instruments_dir=args.instruments,
        options=parse_options(args.option),
    )
    print(written)
    return 0


def _add_validate(subparsers) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check raw trial data against the data contract",
        description="Check raw data of the trials; print every problem as file:row:column.",
    )
    parser.add_argument(
        "data_dir", nargs="?", default=None, help="folder of raw data (default: from the config)"
    )
    parser.add_argument(
        "--config",
        default=None,
        help="workflow config (default: config/config.yaml if present, else built-in defaults)",
    )
    parser.add_argument(
        "--trial", choices=["betterback", "prepare", "all"], default="all", help="%(default)s"
    )
    parser.set_defaults(handler=_run_validate)


def _run_validate(args: argparse.Namespace) -> int:
    from trialanalysis.cli.validate import run_validate

    return run_validate(args.data_dir, args.config, args.trial)


def _add_fit(subparsers) -> None:
    parser = subparsers.add_parser(
        "fit",
        help="fit one linear mixed model (lme4 syntax) with small-sample inference",
        description=(
            "Fit a linear mixed model written in lme4 syntax and write its coefficient "
            "table; the variance components and fit diagnostics are written beside it "
            "(<OUT>_variance, <OUT>_diagnostics). A residual covariance term as in R's "
            "mmrm, us(visit | id) (or cs, csh, ar1, ar1h, toep, toeph), instead of random "
            "effects fits a mixed model for repeated measures; <OUT>_variance then holds "
            "its visit covariances and correlations."
        ),
    )
    parser.add_argument("data", help="long-format data (.csv or .xlsx)")
    parser.add_argument(
        "--formula",
        required=True,
        help='e.g. "y ~ period + (1 | clinic_id)" or "y ~ visit * arm + us(visit | id)"',
    )
    parser.add_argument(
        "--df-method",
        default="satterthwaite",
        choices=["satterthwaite", "kenward-roger", "between-within", "residual", "z"],
        help="degrees of freedom for tests and intervals (default: %(default)s)",
    )
    parser.add_argument("--ml", action="store_true", help="maximum likelihood instead of REML")
    parser.add_argument("--level", type=float, default=0.95, help="confidence level")
    parser.add_argument(
        "--variance-ci",
        default="profile",
        choices=["profile", "wald", "none"],
        help=(
            "intervals of the variance components: REML profile likelihood (ML for --ml), "
            "Wald, or none (default: %(default)s)"
        ),
    )
    parser.add_argument(
        "--weights", help="column of prior weights (residual variance sigma^2 / w, as lme4)"
    )
    parser.add_argument("-o", "--output", required=True, help="coefficient table (.csv/.xlsx)")
    parser.set_defaults(handler=_run_fit)


def _run_fit(args: argparse.Namespace) -> int:
    from trialanalysis.cli.fit import fit_file

    written = fit_file(
        args.data,
        args.formula,
        args.output,
        df_method=args.df_method,
        reml=not args.ml,
        level=args.level,
        variance_ci=args.variance_ci,
        weights=args.weights,
    )
    for path in written:
        print(path)
    return 0


def _add_template(subparsers) -> None:
    parser = subparsers.add_parser(
        "template",
        help="write empty input tables with the contract's headers and a data dictionary",
        description=(
            "Write a template for the data manager: OUT.xlsx (one sheet per table of both "
            "trials and a data_dictionary sheet) or OUT_DIR/ (<trial>/<table>.csv and "
            "data_dictionary.csv)."
        ),
    )
    parser.add_argument("out", help="OUT.xlsx or OUT_DIR/")
    parser.add_argument(
        "--config",
        default=None,
        help="workflow config (default: config/config.yaml if present, else built-in defaults)",
    )
    parser.set_defaults(handler=_run_template)


def _run_template(args: argparse.Namespace) -> int:
    from trialanalysis.cli.template import write_template
    from trialanalysis.cli.validate import read_config

    for path in write_template(args.out, read_config(args.config)):
        print(path)
    return 0


def _add_power(subparsers) -> None:
    parser = subparsers.add_parser(
        "power",
        help="power of a stepped or parallel cluster design (analytic or by simulation)",
        description=(
            "Design-based power of the design in a power spec (YAML; keys in "
            "schemas/power.schema.yaml) under its assumed effects: the GLS variance "
            "(analytic) or simulated trials analysed with the trial's mixed model "
            "(simulation, also type I error and CI coverage with Monte Carlo SEs)."
        ),
    )
    parser.add_argument("spec", help="power spec (.yaml)")
    parser.add_argument("--method", choices=["analytic", "simulation"], default="analytic")
    parser.add_argument("--sims", type=int, default=None, help="simulations (default: spec)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: spec)")
    parser.add_argument("-o", "--output", required=True, help="result table (.csv)")
    parser.set_defaults(handler=_run_power)


def _run_power(args: argparse.Namespace) -> int:
    from trialanalysis.cli.power import run_power

    print(run_power(args.spec, args.method, args.output, sims=args.sims, seed=args.seed))
    return 0


COMMANDS: list[Callable] = [
    _add_simulate,
    _add_validate,
    _add_score,
    _add_fit,
    _add_template,
    _add_power,
]


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="trialanalysis",
        description="Analysis pipeline for the BetterBack and PREPARE low back pain trials.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except TrialAnalysisError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
