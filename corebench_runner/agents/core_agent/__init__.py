"""core-agent's tools (tools.py): its loop runs on the host and every tool acts through the sandbox."""
