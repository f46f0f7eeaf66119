"""Running: plan a run and drive its tasks (run.py), run one task (task.py), decide and record its
outcome (recording.py), and what surrounds them: progress, retries and reruns, scratch folders,
outputs, clean-up off the score path, tracing; and the oracle-driven authoring runs (capsule
check: capsule_check.py; capsule reproduce: reproduce.py).
"""
