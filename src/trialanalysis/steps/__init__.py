"""Workflow steps: the functions the Snakemake scripts call, one ``<rule>_step`` per rule.

- :mod:`.io`: the step log, the one CSV writer and the typed reader, input discovery
- :mod:`.shared`: validate, score, psychometrics, CONSORT and report steps
- :mod:`.betterback`, :mod:`.prepare`: the trials' analysis steps
- :mod:`.power`: design and power steps

A step reads its input files, calls the analyses (which read and write no
files) and writes tables, figures and report fragments.
"""
