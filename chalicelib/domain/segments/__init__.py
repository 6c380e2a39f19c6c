"""Segment rules: a small language marketers write in YAML or JSON, parsed once
into checked nodes and compiled to plain Python functions for fast evaluation."""
