"""The compact Llama-style model and its phase-1/phase-2 training, fed only by a run's
shards and manifest (never by the pipeline code): tokenizer.py, data.py (pre-tokenized,
memory-mapped, packed rows with document positions), model.py, train.py, generate.py,
export_hf.py."""
