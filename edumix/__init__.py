"""edumix: curate LLM pretraining data on Apache Beam and prove it on a compact model.

The shared pieces live here: the document record and Arrow schema (`edumix.record`),
the typed run config (`edumix.config`) and the `edumix` CLI (`edumix.cli`).
"""

__version__ = "0.1.0"
