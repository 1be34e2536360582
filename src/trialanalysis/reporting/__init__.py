"""Tables, figures, CONSORT diagrams, provenance and the HTML report."""
