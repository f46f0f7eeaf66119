"""The podman kind: task containers on Podman, daemonless (its service runs only while used) and rootless
where the host allows it. It is the docker kind's code on Podman's Docker-compatible API, with what differs."""
