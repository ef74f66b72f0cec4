"""Model-based scoring (quality, educational level, domain): plain Python, no Beam.

fastText classifiers shipped as classifiers/models/{quality,edu,domain}.ftz; see classifiers.models
(QualityClassifier, EduClassifier, DomainClassifier) and scripts/train_default_classifiers.py.
Stages that use them plug into `pipelines.stage.ApplyStage`.
"""
