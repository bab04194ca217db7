"""The ``segment`` command line: a thin Typer skin over the ``segment`` library."""
