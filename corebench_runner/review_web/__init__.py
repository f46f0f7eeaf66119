"""`corebench review --web`: settle disputes in a browser, with figures, evidence and transcript on one page.

app.py (Flask routes and safety headers), pages.py (what a page shows, from the store),
server.py (binding and serving), templates/ and static/ (the pages, one script file, one stylesheet).
"""
