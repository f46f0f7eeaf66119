"""Agent CLIs inside a task's container: recipe.py says what an agent is; npm_fetch.py fetches its
native binary on the host once per machine; session.py runs it, talking to the model only through
the metering relay (agents/relay/), and times each line of its stream as it is read; normalise.py
and the normalise_* readers turn each agent's stream into transcript events; scaffold.py is the
scaffold over a recipe; health.py is what `doctor` checks.
"""
