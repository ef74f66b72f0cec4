"""Embedded demo data: a small, deterministic synthetic web crawl (see crawl.py)."""

from edumix.demo.crawl import KINDS, SPECIAL_HTML_PAGES, DemoCrawlStats, write_demo_crawl

__all__ = ["KINDS", "SPECIAL_HTML_PAGES", "DemoCrawlStats", "write_demo_crawl"]
