"""The compact Llama-style model and its phase-1/phase-2 training, fed only by a run's
shards and manifest (never by the pipeline code). Empty until the trainer issue lands.
"""
