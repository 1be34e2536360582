"""The ``trialanalysis`` command line: :mod:`.main` parses, one module per command body.

- :mod:`.validate`: ``trialanalysis validate`` (and the config reader of ``template``)
- :mod:`.score`: ``trialanalysis score``
- :mod:`.fit`: ``trialanalysis fit``
- :mod:`.power`: ``trialanalysis power``
- :mod:`.simulate`: ``trialanalysis simulate``
- :mod:`.template`: ``trialanalysis template``
"""
