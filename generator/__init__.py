"""Gushihui (故事汇): a static site generator for Chinese party-building stories."""

__version__ = "0.1.0"
