"""Packaging is declared in pyproject.toml; this stub only exists for scrapyd-deploy.

scrapyd-deploy builds the egg with `python setup.py bdist_egg` and, when a project has
no setup.py, writes its own into the tree (with a generic name and none of our package
data). With this file present it builds from pyproject.toml instead.
"""

from setuptools import setup

setup()
