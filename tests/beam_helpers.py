"""Run one stage PTransform on a real Beam runner and bring its outputs back."""

import os
import pickle
import tempfile

import apache_beam as beam


def _save(value, path):
    with open(path, "wb") as fh:
        pickle.dump(value, fh)


def run_stage(transform, docs):
    """Run one stage on a real runner; return (kept docs, drops, summed stats)."""
    with tempfile.TemporaryDirectory() as tmp:
        with beam.Pipeline("FnApiRunner") as p:
            result = p | beam.Create(docs) | transform
            for name in ("docs", "dropped"):
                _ = (
                    result[name]
                    | f"List{name}" >> beam.combiners.ToList()
                    | f"Save{name}" >> beam.Map(_save, os.path.join(tmp, name))
                )
            stats = result["stats"] | beam.CombinePerKey(sum) | beam.combiners.ToDict()
            _ = stats | "SaveStats" >> beam.Map(_save, os.path.join(tmp, "stats"))
        loaded = []
        for name in ("docs", "dropped", "stats"):
            with open(os.path.join(tmp, name), "rb") as fh:
                loaded.append(pickle.load(fh))
    return tuple(loaded)
