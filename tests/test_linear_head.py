"""The linear heads on the static embedding: exact fits on known data, the saved file, and the
shipped quality and edu heads (blended into quality_score and edu_score)."""

import numpy as np
import pytest
from shared_data import shared

from edumix.classifiers.linear_head import (
    HEAD_TASKS,
    LinearHead,
    blend,
    fit_head,
    fit_logistic,
    fit_ridge,
    head_path,
    train_head,
    within_set_targets,
)
from edumix.classifiers.models import EduClassifier, QualityClassifier, default_model_path


def test_ridge_recovers_a_linear_rule_on_raw_features():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 6)) * [1, 10, 0.1, 3, 1, 1] + [5, -2, 0, 1, 0, 0]
    w = np.array([0.5, -0.1, 4.0, 0.0, 1.0, 0.0])
    head = fit_ridge(X, X @ w + 2.0, alphas=(1e-6,))
    assert head.weights == pytest.approx(w, abs=1e-4) and head.bias == pytest.approx(2.0, abs=1e-3)
    # noisy targets: GCV picks a penalty from the grid, and predictions still track the rule
    y = X @ w + rng.normal(scale=2.0, size=400)
    noisy = fit_ridge(X, y)
    assert np.corrcoef(noisy.predict(X), X @ w)[0, 1] > 0.95 and noisy.alpha > 0


def test_logistic_fit_matches_the_generating_model():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(4000, 3))
    p = 1 / (1 + np.exp(-(X @ [2.0, -1.0, 0.0] + 0.5)))
    y = rng.random(4000) < p
    head = fit_logistic(X, y, C=100.0)  # almost no penalty: the maximum-likelihood weights
    assert head.weights == pytest.approx([2.0, -1.0, 0.0], abs=0.15) and head.bias == pytest.approx(0.5, abs=0.1)
    assert ((head.predict(X) > 0.5) == y).mean() > 0.75
    strong = fit_logistic(X, y, C=1e-5)  # a heavy penalty shrinks the weights, not the intercept
    assert np.abs(strong.weights).max() < 0.05 * np.abs(head.weights).max()
    assert strong.bias == pytest.approx(np.log(y.mean() / (1 - y.mean())), abs=0.05)


def test_save_and_load_round_trip(tmp_path):
    head = LinearHead("logistic", np.array([0.25, -1.5]), 0.125, 20.0)
    head.save(tmp_path / "h.json")
    back = LinearHead.load(tmp_path / "h.json")
    assert back.kind == "logistic" and back.bias == 0.125 and back.weights.tolist() == [0.25, -1.5]
    (tmp_path / "bad.json").write_text('{"kind": "tree"}')
    with pytest.raises(ValueError, match="not a linear head"):
        LinearHead.load(tmp_path / "bad.json")
    # a head on the embedding and the text statistics says so in its file; one on the embedding
    # alone keeps the older format (no "features" key)
    LinearHead("ridge", np.array([1.0]), 0.0, 1.0, "static+stats").save(tmp_path / "both.json")
    assert LinearHead.load(tmp_path / "both.json").features == "static+stats"
    assert "features" not in (tmp_path / "h.json").read_text() and back.features == "static"
    (tmp_path / "odd.json").write_text('{"kind": "ridge", "features": "pixels", "weights": [], "bias": 0, "alpha": 1}')
    with pytest.raises(ValueError, match="unknown head features"):
        LinearHead.load(tmp_path / "odd.json")


def test_shipped_quality_blends_its_head():
    clf = QualityClassifier.load()
    assert HEAD_TASKS == ("quality", "edu") and clf.head is not None
    assert head_path(default_model_path("quality")).is_file()
    texts = ["The mitochondrion produces most of the cell's ATP through oxidative phosphorylation.", ""]
    fast = [p["high"] for p in clf.predict_proba(texts)]
    blended = clf.predict(texts)
    assert all(0 <= x <= 1 for x in blended) and blended != fast


def test_within_set_targets_rank_inside_each_set_on_the_point_scale():
    # Two sets at different levels with the same spread inside: the offsets are equal, so the head
    # learns the order inside a set, not which set scores high. A constant set (known 0s) is left out.
    labels = ["0", "1", "2", "3", "4", "5", "0", "0"]
    sets = ["da", "da", "da", "en", "en", "en", "hplt", "hplt"]
    y = within_set_targets(labels, sets)
    assert y[:3] == pytest.approx(y[3:6]) and y[:3] == pytest.approx([-1.0, 0.0, 1.0])  # pooled sd is 1 point
    assert np.isnan(y[6:]).all()
    with pytest.raises(ValueError, match="vary"):
        within_set_targets(["0", "0"], ["x", "x"])


def test_edu_head_ignores_the_language_level():
    # Feature 0 says the language (English pages score 3 points higher), feature 1 the quality
    # inside a language: the head must follow feature 1 and give feature 0 (almost) nothing.
    rng = np.random.default_rng(2)
    lang = np.repeat([0.0, 1.0], 200)
    within = rng.normal(size=400)
    X = np.column_stack([lang + rng.normal(scale=0.01, size=400), within, rng.normal(size=400)])
    labels = [str(int(np.clip(round(1 + 3 * g + w), 0, 5))) for g, w in zip(lang, within)]
    head = fit_head("edu", X, labels, np.where(lang == 1, "en", "da"))
    assert abs(head.weights[0]) * 1.0 < 0.2 and head.weights[1] > 0.5
    assert blend("edu", [4.9, 0.1], [0.5, -0.5]).tolist() == [5.0, 0.0]  # clipped to the 0-5 scale


def test_shipped_edu_blends_its_head():
    clf = EduClassifier.load()
    assert clf.head is not None and head_path(default_model_path("edu")).is_file()
    texts = ["Photosynthesis turns light energy into chemical energy stored in glucose.", "buy now cheap"]
    fast = [sum(int(k) * v for k, v in p.items()) for p in clf.predict_proba(texts)]
    scores = clf.predict(texts)
    assert all(0 <= x <= 5 for x in scores) and scores != pytest.approx(fast)


def test_a_model_without_head_is_fasttext_alone(tmp_path):
    import shutil

    shutil.copy(default_model_path("quality"), tmp_path / "mine.ftz")
    clf = QualityClassifier.load(tmp_path / "mine.ftz")
    assert clf.head is None
    assert clf.predict(["some text"]) == [clf.predict_proba(["some text"])[0]["high"]]


@pytest.mark.slow
def test_shipped_quality_head_is_reproducible(tmp_path):
    """Same rows -> the same head file as the one in the repository (beside quality.ftz)."""
    shared("quality", "hplt_v2_dev")
    from edumix.classifiers.training_data import quality_examples

    out = train_head("quality", quality_examples(), tmp_path / "quality.ftz")
    assert out.read_bytes() == head_path(default_model_path("quality")).read_bytes()


@pytest.mark.slow
def test_shipped_edu_head_is_reproducible(tmp_path):
    """Same rows -> the same head, signals and cross-lingual files as the ones in the repository
    (beside edu.ftz)."""
    shared("edu"), shared("quality", "hplt_v2_dev"), shared("seed")
    import shutil

    from edumix.classifiers.edu_crosslingual import crosslingual_path
    from edumix.classifiers.edu_signals import signals_path
    from edumix.classifiers.training_data import edu_examples

    shutil.copy(default_model_path("edu"), tmp_path / "edu.ftz")  # the cross-lingual head's teacher
    out = train_head("edu", edu_examples(), tmp_path / "edu.ftz")
    assert out.read_bytes() == head_path(default_model_path("edu")).read_bytes()
    for companion in (signals_path, crosslingual_path):
        assert companion(tmp_path / "edu.ftz").read_bytes() == companion(default_model_path("edu")).read_bytes()
