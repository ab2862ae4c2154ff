"""Study definitions, the runner, sweeps and the ``ssbx`` command line."""
