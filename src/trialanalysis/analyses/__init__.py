"""Trial analyses: config -> tidy result tables, figures and report fragments."""
