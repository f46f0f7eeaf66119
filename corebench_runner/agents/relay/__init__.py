"""The metering relay an agent CLI talks to instead of the model's API: server.py swaps the task's
token for the real key and forwards only the calls agents need (forward.py), metering them
(usage.py) against the task's cap (budget.py); start.py starts one for a model; http.py is the
local HTTP code it is built on (the scripted servers in corebench_scripted/ reuse it).
"""
