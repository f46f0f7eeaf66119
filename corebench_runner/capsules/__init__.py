"""Capsules: the suite on disk.

The capsule format (format.py, questions.py, problems.py, files.py), the workspace each level
shows an agent (levels.py, archives.py, answer_leaks.py), finding the suite and its plugins
(suite.py, plugins.py), reading answers out of output files (extract.py, output_numbers.py),
authoring (new.py, edit.py, lint.py) and importing upstream CORE-Bench tasks
(corebench_import.py, croissant.py, tarballs.py).
"""
