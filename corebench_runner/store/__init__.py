"""The store: one SQLite file (database.py) with its schema's migrations (schema.py) and health check
(health.py); the queries every surface shares (results.py, reliability.py); usage written as it
happens (usage_journal.py) and one owner per run (lease.py).
"""
