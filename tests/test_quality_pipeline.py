"""Language ID and quality rules as Beam stages: drop vs tag mode, the KL side input,
per-rule stats and the overlap matrix."""

import hashlib

from beam_helpers import run_stage

from edumix.core.config import FiltersConfig, LangIdConfig
from edumix.core.record import Document
from edumix.pipelines.quality import LanguageId, QualityFilter

GOOD = (
    "The river valley supports farms and small towns along its banks. Every spring the water rises "
    "and leaves a layer of fertile silt on the fields. Farmers plant wheat, barley and beans, and they "
    "rotate the crops to keep the soil healthy. In summer the markets fill with fruit from the orchards "
    "on the hills. The old stone bridge, built three centuries ago, still carries carts and bicycles "
    "across the river. Children learn to swim in the shallow bends where the current is slow."
)
SPAM = "buy cheap best price buy cheap best price " * 40
SHORT = "Click here to log in."
JUNK = " ".join(f"qz{i * 7919 % 10007:x}v" for i in range(300))


def docs():
    texts = [GOOD, GOOD.replace("river", "lake"), SPAM, SHORT, "Der Fluss fließt durch das Tal. " + GOOD, JUNK]
    return [
        Document(
            id=hashlib.sha256(t.encode()).hexdigest()[:32],
            url=f"https://x.example/{i}",
            crawl_date=None,
            source_file="f",
            source_offset=i,
            source_format="warc",
            text=t,
            lang="en",
        )
        for i, t in enumerate(texts)
    ]


def test_drop_mode_drops_with_the_first_failed_rule_and_counts_every_rule():
    kept, dropped, stats = run_stage(QualityFilter(FiltersConfig()), docs())
    assert {d.text[:20] for d in kept} >= {GOOD[:20]}
    reasons = {d.doc.text[:10]: d.reason for d in dropped}
    assert set(reasons) >= {SPAM[:10], SHORT[:10]}
    for d in dropped:
        assert d.stage == "quality" and d.reason in d.detail
        assert d.reason == d.doc.metadata["failed_rules"].split(",")[0]
    flagged = {name.removeprefix("flagged/"): n for (stage, name), n in stats.items() if name.startswith("flagged/")}
    assert sum(flagged.values()) >= len(dropped)
    assert stats[("quality", "by_language/en/docs")] == 6
    assert stats[("quality", "by_language/en/flagged")] == len(dropped)
    if any(len(d.doc.metadata["failed_rules"].split(",")) > 1 for d in dropped):
        assert any(name.startswith("overlap/") for _, name in stats)


def test_tag_mode_drops_nothing_but_flags_the_same_rules():
    _, dropped, drop_stats = run_stage(QualityFilter(FiltersConfig()), docs())
    kept, none, tag_stats = run_stage(QualityFilter(FiltersConfig(mode="tag")), docs())
    assert none == [] and len(kept) == 6
    assert tag_stats == drop_stats
    tagged = {d.text[:10]: d.metadata.get("failed_rules") for d in kept}
    assert all(tagged[d.doc.text[:10]] == d.doc.metadata["failed_rules"] for d in dropped)
    assert all("dirty_words.ratio" in d.signals or d.signals for d in kept)


def test_kl_side_input_scores_against_the_corpus():
    cfg = FiltersConfig.model_validate({"mode": "tag", "kl": {"min_corpus_tokens": 10}})  # a toy corpus
    kept, _, _ = run_stage(QualityFilter(cfg), docs())
    kl = {d.text[:10]: d.signals.get("kl_divergence") for d in kept}
    assert kl[GOOD[:10]] is not None and kl[JUNK[:10]] is not None
    assert kl[JUNK[:10]] > 1.5 * kl[GOOD[:10]]  # tokens the rest of the corpus never uses


def test_language_id_stage_tags_every_document():
    german = docs()[0]
    german = Document(
        **{
            **german.__dict__,
            "text": "Der Fluss fließt langsam durch das breite Tal, und die "
            "Bauern bestellen im Frühling ihre Felder mit Weizen und Gerste.",
            "lang": None,
        }
    )
    kept, dropped, stats = run_stage(LanguageId(LangIdConfig()), [*docs()[:2], german])
    assert sorted(d.lang for d in kept) == ["de", "en", "en"] and not dropped
    assert stats == {("langid", "languages/de"): 1, ("langid", "languages/en"): 2}
    kept, dropped, _ = run_stage(LanguageId(LangIdConfig(allowed=("en",))), [*docs()[:2], german])
    assert [d.reason for d in dropped] == ["lang_not_allowed"] and len(kept) == 2


def test_stopping_at_the_first_failed_rule_drops_the_same_documents():
    _, every, _ = run_stage(QualityFilter(FiltersConfig()), docs())
    _, first, stats = run_stage(QualityFilter(FiltersConfig(evaluate_all=False)), docs())
    assert sorted(d.doc.id for d in first) == sorted(d.doc.id for d in every)
    full = {d.doc.id: d.doc.metadata["failed_rules"].split(",") for d in every}
    for d in first:  # the rules up to the first datatrove failure, in the same order
        rules = d.doc.metadata["failed_rules"].split(",")
        assert rules == full[d.doc.id][: len(rules)] and d.reason == rules[0]
    assert sum(len(r) for r in full.values()) > sum(len(d.doc.metadata["failed_rules"].split(",")) for d in first)
