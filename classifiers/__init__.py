"""Model-based scoring stages (quality, educational level, domain): plain Python, no Beam.

Empty until the classifier issue lands; stages here plug into `pipelines.stage.ApplyStage`.
"""
