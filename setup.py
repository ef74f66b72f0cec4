"""Shim for Beam's `--setup_file=./setup.py`: without the `build` package Beam stages the
code with `python setup.py sdist`. All metadata lives in pyproject.toml."""

from setuptools import setup

setup()
