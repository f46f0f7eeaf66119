"""Triage: a model or an agent CLI reads a failed answer's material and proposes a verdict and a category.

A proposal is advice for the reviewer; it never changes an answer's status (store/triage.py).
"""
