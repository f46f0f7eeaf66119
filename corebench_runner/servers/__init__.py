"""Local servers that speak the providers' wire protocols on 127.0.0.1: the Anthropic Messages API
(messages_api.py, streamed through sse.py) and OpenAI's Responses and Chat Completions
(openai_api.py, shapes in openai_wire.py), playing scripted sessions; local_http.py is what they
and the agents' relay share.
"""
