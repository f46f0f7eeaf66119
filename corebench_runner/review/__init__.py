"""Review: verdicts on disputed answers with an audit trail (verdicts.py), the evidence behind an
answer (evidence.py), how an answer is shown to a reviewer (screen.py), and verdicts exchanged
between stores as JSON lines (exchange.py).
"""
