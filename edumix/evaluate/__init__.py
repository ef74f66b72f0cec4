"""Evaluation on labelled data: loaders for the shared dev sets and the scoring code that both
the benchmarks (which print tables) and the tests (which assert floors) use.

    pages         the fixed sample of trafilatura's eval pages the throughput benchmarks wrap in WARCs
    extraction    main-text extraction quality on trafilatura's eval set (snippet recall / leakage)
    quality_rules heuristic rules and language ID against HPLT v2 dev labels
    pii           span-level PII scoring on presidio's synthetic eval set
    phones        phone numbers generated from libphonenumber's metadata in real prose, and a false-positive set
    neardup       a generated near-duplicate corpus with known ground truth (MinHash dedup)

The data is found through ``edumix.core.shared_data`` and never copied into the repository.
"""
