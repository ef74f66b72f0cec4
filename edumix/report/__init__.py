"""Reading a finished run: the terminal summary, the comparison of two runs and the
self-contained report.html. Runs are read only through `edumix.core.run_dir`."""
