"""The docker kind: task containers on a Docker-API engine (the Docker engine; Podman's service speaks it too)."""
