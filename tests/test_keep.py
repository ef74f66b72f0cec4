"""Which duplicate survives (filters/keep.py) and the streaming keep-one-per-key step."""

from apache_beam.pvalue import TaggedOutput

from edumix.core.record import Document
from edumix.filters.keep import rank_by_date, rank_longest
from edumix.pipelines.dedup import _KeepOnePerKey


def doc(i: int, date: str | None = None, text: str = "x") -> Document:
    return Document(
        id=f"id{i}",
        url="http://a/",
        crawl_date=date,
        source_file="f.warc.gz",
        source_offset=i,
        source_format="warc",
        text=text,
    )


def best(docs, rank):
    return min(docs, key=rank)


def test_latest_earliest_and_undated():
    docs = [doc(1, None), doc(2, "2024-01-02"), doc(3, "2024-03-01"), doc(4, "2024-03-01"), doc(5, "2023-12-31")]
    assert best(docs, lambda d: rank_by_date(d, "latest")).source_offset == 3  # latest; tie -> smaller identity
    assert best(docs, lambda d: rank_by_date(d, "earliest")).source_offset == 5
    undated = [doc(7), doc(6)]
    assert best(undated, lambda d: rank_by_date(d, "latest")).source_offset == 6
    assert best([doc(1), doc(9, "2020-01-01")], lambda d: rank_by_date(d, "earliest")).source_offset == 9


def test_longest_text_wins_then_identity():
    docs = [doc(1, text="ab"), doc(2, text="abc"), doc(3, text="abc")]
    assert best(docs, rank_longest).source_offset == 2


class OnePassAtATime:
    """A re-iterable that never materialises its values, like Beam's grouped values."""

    def __init__(self, n: int):
        self.n, self.passes = n, 0

    def __iter__(self):
        self.passes += 1
        return (doc(i, text="x" * (i % 7)) for i in range(self.n))


def test_keep_one_per_key_streams_the_group():
    values = OnePassAtATime(10_000)
    out = list(_KeepOnePerKey("exact_dedup", "dup_exact", rank_longest).process(("k", values)))
    keeper, drops = out[0], [o.value for o in out[1:]]
    expected = min(iter(OnePassAtATime(10_000)), key=rank_longest)  # what a materialised pick gives
    assert values.passes == 2 and all(isinstance(o, TaggedOutput) for o in out[1:])
    assert keeper == expected and len(drops) == 9_999
    assert {d.detail for d in drops} == {f"dup_of={expected.id}"}
    assert expected.source_offset not in {d.doc.source_offset for d in drops}
