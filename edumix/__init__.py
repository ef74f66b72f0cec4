"""edumix: curate LLM pretraining data on Apache Beam and prove it on a compact model.

Every part installs under this one name: the repository's folders map to edumix.core,
edumix.filters, edumix.classifiers, edumix.pipelines, edumix.report, edumix.trainer (see
the README's "Where the code lives"). This module holds only the version.
"""

__version__ = "0.1.0"
