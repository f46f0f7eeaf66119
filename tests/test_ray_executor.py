"""The Ray executor on a real multi-node local cluster (ray.cluster_utils.Cluster), not a mock.

Two nodes advertise the "docker" resource and one does not: tasks must run on both Docker
nodes, never on the other, and every result must land in the driver's store.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from corebench_runner.cli import main
from support_run import containers_of, count_rows, make_suite, show_json

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402

NODE_MEMORY = 100 * 1024 * 1024


@pytest.fixture(scope="module")
def three_node_cluster():
    """One cluster for the module: starting three nodes is most of these tests' time."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BEHAVE_SLEEP", "4")  # workers inherit the environment of the nodes' processes
        patch.setenv("RAY_DEDUP_LOGS", "0")
        cluster = Cluster(initialize_head=True, head_node_args={
            "num_cpus": 1, "resources": {"docker": 2}, "object_store_memory": NODE_MEMORY, "include_dashboard": False})
        try:
            docker_worker = cluster.add_node(num_cpus=1, resources={"docker": 2}, object_store_memory=NODE_MEMORY)
            plain_worker = cluster.add_node(num_cpus=2, object_store_memory=NODE_MEMORY)
            cluster.wait_for_nodes()
            yield cluster, {cluster.head_node.node_id, docker_worker.node_id}, plain_worker.node_id
        finally:
            if ray.is_initialized():
                ray.shutdown()
            cluster.shutdown()


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.ray
def test_tasks_spread_over_docker_nodes_and_results_return_to_the_driver(tmp_path: Path, three_node_cluster):
    cluster, docker_nodes, plain_node = three_node_cluster
    capsules = [f"slow-{i}" for i in range(4)] + ["wrong-0"]
    suite = make_suite(tmp_path / "suite", capsules)
    store = tmp_path / "results.sqlite"
    runner = CliRunner()
    result = runner.invoke(main, ["--suite", str(suite), "run", "--scaffold", "behave", "--all", "--store", str(store),
                                  "--executor", "ray", "--ray-address", cluster.address, "--concurrency", "4"])
    assert result.exit_code == 0, result.output
    assert "accuracy 80.0% (4/5 tasks correct)" in result.output

    shown = show_json(runner, store, "")
    run_id = shown["run"]["id"]
    assert {t["capsule_id"]: t["outcome"] for t in shown["tasks"]} == {
        **{c: "correct" for c in capsules[:-1]}, "wrong-0": "incorrect"}
    assert count_rows(store, run_id) == {"tasks": 5, "done": 5, "answers": 15, "duplicate_answers": 0}
    assert shown["run"]["config"]["execution"]["executor"] == "ray"

    import sqlite3

    conn = sqlite3.connect(store)
    workers = [json.loads(row[0])["worker"] for row in conn.execute("SELECT details_json FROM tasks")]
    conn.close()
    nodes = {w.split("node=")[1] for w in workers}
    assert nodes <= docker_nodes, "a task ran on a node without Docker"
    assert plain_node not in nodes
    assert nodes == docker_nodes, f"expected both Docker nodes to take tasks, got {nodes}"
    # Produced files travelled back from the workers to the artifacts folder beside the driver's store.
    artifacts = store.parent / f"{store.stem}-artifacts"
    assert len(list(artifacts.glob(f"{run_id}/*/produced/results/made_by_agent.txt"))) == 5
    assert containers_of(run_id) == []


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.ray
def test_a_resume_cleans_up_on_every_docker_node(three_node_cluster):
    """A killed run's Ray workers leave containers on their own nodes; the resume's cleanup reaches each."""
    import docker

    from corebench_runner.executors.ray_executor import RayExecutor
    from corebench_runner.sandbox.labels import MANAGED_LABEL, OWNER_HOST_LABEL, OWNER_PID_LABEL, RUN_LABEL
    from corebench_runner.sandbox.providers import cleanup

    cluster, docker_nodes, _ = three_node_cluster
    node_id = lambda: ray.get_runtime_context().get_node_id()  # noqa: E731 (a lambda travels by value to workers)
    executor = RayExecutor(node_id, slots=2, address=cluster.address)
    try:
        assert sorted(executor.on_every_node(node_id)) == sorted(docker_nodes)
        # A container as a killed worker leaves it: the run's label, an owner process that is gone.
        import socket

        leftover = docker.from_env().containers.create(
            "corebench/base:bookworm", ["sleep", "infinity"], name="corebench-leftover-of-a-killed-ray-worker",
            labels={RUN_LABEL: "run-killed", MANAGED_LABEL: "1", OWNER_HOST_LABEL: socket.gethostname(),
                    OWNER_PID_LABEL: "999999999"})
        try:
            removed = [name for names in executor.on_every_node(cleanup, "docker", "run-killed") for name in names]
        finally:
            try:
                leftover.remove(force=True)
            except docker.errors.NotFound:
                pass
        assert removed == [leftover.name]
    finally:
        executor.close()
