"""A local Kafka cluster of three brokers (KRaft, each node broker and controller).

Replication the way production runs it: a quorum of three controllers, internal topics with
three replicas and ``min.insync.replicas=2``, so one broker may die (SIGKILL) without losing
an acknowledged write or a committed offset. Each node is a :class:`LocalKafka` in a folder of
its own (``node-1`` ...) with its ports fixed before any starts, since every node names every
controller (``controller.quorum.voters``). The nodes start side by side: none is ready before
a majority of the quorum runs.
"""

from __future__ import annotations

import concurrent.futures
import json
import subprocess
import time
from pathlib import Path
from typing import Any

from devstack.kafka import LocalKafka
from devstack.kafka_config import new_cluster_id
from devstack.procs import (
    StackError,
    free_port,
    read_json,
    run_coro,
    write_atomic,
)

__all__ = ["CLUSTER_FILE", "ClusterNode", "LocalKafkaCluster", "cluster_size"]

#: Written in the cluster's folder: node count, ports and cluster id.
CLUSTER_FILE = "cluster.json"


def cluster_size(data_dir: Path) -> int | None:
    """How many nodes the :class:`LocalKafkaCluster` in ``data_dir`` has; ``None`` when
    ``data_dir`` holds no cluster (one broker, or nothing yet)."""
    size = (read_json(data_dir / CLUSTER_FILE) or {}).get("size")
    return size if isinstance(size, int) else None


class ClusterNode(LocalKafka):
    """One node of a :class:`LocalKafkaCluster`: broker and controller, replicating thrice."""

    def __init__(self, data_dir: Path, node_id: int, port: int, controller_port: int,
                 voters: str) -> None:
        super().__init__(data_dir, port=port)
        self.node_id = node_id
        self.controller_port = controller_port
        self.voters = voters

    def _properties(self) -> str:
        text = super()._properties()
        changes = {
            "node.id": str(self.node_id),
            "controller.quorum.voters": self.voters,
            "default.replication.factor": "3",
            "min.insync.replicas": "2",
            "offsets.topic.replication.factor": "3",
            "transaction.state.log.replication.factor": "3",
            "transaction.state.log.min.isr": "2",
            "share.coordinator.state.topic.replication.factor": "3",
            "share.coordinator.state.topic.min.isr": "2",
        }
        lines = []
        for line in text.splitlines():
            key = line.split("=", 1)[0]
            if key == "controller.quorum.bootstrap.servers":
                continue  # a static quorum instead: every node knows every voter
            lines.append(f"{key}={changes.pop(key)}" if key in changes else line)
        lines += [f"{key}={value}" for key, value in changes.items()]
        return "\n".join(lines) + "\n"

    def _format(self, lib: Path, cluster_id: str) -> None:
        """Format without ``--standalone``: the voters are static, named in the properties."""
        cmd = self._java_cmd(lib, "kafka.tools.StorageTool", "format", "-c",
                             str(self.properties_file), "-t", cluster_id, "--ignore-formatted")
        result = subprocess.run(  # noqa: S603 - fixed argv, no shell
            cmd, capture_output=True, text=True, timeout=120, check=False)
        if result.returncode != 0:
            output = (result.stdout + result.stderr).strip().splitlines()[-15:]
            raise StackError(f"Kafka storage format of node {self.node_id} failed",
                             "\n".join(f"  | {line}" for line in output) or None)


class LocalKafkaCluster:
    """Three (or ``size``) :class:`ClusterNode` under ``data_dir``, managed as one; the same
    interface as :class:`LocalKafka` where :class:`~devstack.stack.LocalStack` uses it."""

    def __init__(self, data_dir: Path, size: int = 3) -> None:
        self.data_dir = data_dir.expanduser().absolute()
        state = read_json(self.data_dir / CLUSTER_FILE) or {}
        if state.get("size") == size:
            ports, controllers = state["ports"], state["controller_ports"]
            self.cluster_id = str(state["cluster_id"])
        else:
            ports = [free_port() for _ in range(size)]
            controllers = [free_port() for _ in range(size)]
            self.cluster_id = new_cluster_id()
        voters = ",".join(f"{n + 1}@127.0.0.1:{port}" for n, port in enumerate(controllers))
        self.nodes = [ClusterNode(self.data_dir / f"node-{n + 1}", n + 1, ports[n],
                                  controllers[n], voters) for n in range(size)]
        self._state = {"size": size, "ports": ports, "controller_ports": controllers,
                       "cluster_id": self.cluster_id}

    @property
    def bootstrap(self) -> str:
        """Every node's ``127.0.0.1:<port>``, comma-separated."""
        return ",".join(node.bootstrap for node in self.nodes)

    @property
    def port(self) -> int | None:
        return self.nodes[0].port

    @property
    def controller_port(self) -> int | None:
        return self.nodes[0].controller_port

    @property
    def pid(self) -> int | None:
        """The first running node's pid (None when none runs)."""
        return next((node.pid for node in self.nodes if node.pid is not None), None)

    def is_running(self) -> bool:
        """Whether every node runs."""
        return all(node.is_running() for node in self.nodes)

    def node(self, node_id: int) -> ClusterNode:
        """The node with Kafka's ``node.id`` ``node_id``."""
        return self.nodes[node_id - 1]

    def start(self, timeout: float = 180) -> str:
        """Start every node side by side (formatting each the first time); the bootstrap list
        once each serves."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        write_atomic(self.data_dir / CLUSTER_FILE, json.dumps(self._state, indent=2))
        for node in self.nodes:
            node.data_dir.mkdir(parents=True, exist_ok=True)
            known = read_json(node.data_dir / "kafka.json") or {}
            if known.get("cluster_id") != self.cluster_id:
                write_atomic(node.data_dir / "kafka.json",
                              json.dumps({"cluster_id": self.cluster_id}))
        with concurrent.futures.ThreadPoolExecutor(len(self.nodes)) as pool:
            started = [pool.submit(node.start, timeout) for node in self.nodes]
            errors = [f.exception() for f in started if f.exception() is not None]
        if errors:
            self.stop(timeout=10)
            raise errors[0]  # type: ignore[misc]
        self.wait_replicated(timeout)
        return self.bootstrap

    def wait_replicated(self, timeout: float = 120) -> None:
        """Until the cluster names all its brokers (a restarted node has rejoined)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if run_coro(lambda: _brokers(self.bootstrap)) >= len(self.nodes):
                return
            time.sleep(0.25)
        raise StackError(f"the Kafka cluster at {self.bootstrap} did not see "
                         f"{len(self.nodes)} brokers within {timeout:.0f}s")

    def stop(self, timeout: float = 30) -> None:
        """Stop every node (side by side: a controlled shutdown waits for the others)."""
        with concurrent.futures.ThreadPoolExecutor(len(self.nodes)) as pool:
            for future in [pool.submit(node.stop, timeout) for node in self.nodes]:
                future.result()

    def kill(self) -> None:
        """SIGKILL every node."""
        for node in self.nodes:
            node.kill()

    def restart(self, timeout: float = 180, stop_timeout: float = 30) -> str:
        """Stop every node, then start them again on the same ports and data."""
        self.stop(timeout=stop_timeout)
        return self.start(timeout=timeout)

    def leader_of(self, topic: str, partition: int = 0) -> int:
        """The ``node.id`` leading ``topic``'s ``partition`` now."""
        return run_coro(lambda: _leader(self.bootstrap, topic, partition))


async def _brokers(bootstrap: str) -> int:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    try:
        await admin.start()
        cluster: dict[str, Any] = await admin.describe_cluster()
        return len(cluster.get("brokers") or [])
    except Exception:
        return 0
    finally:
        await admin.close()


async def _leader(bootstrap: str, topic: str, partition: int) -> int:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    for found in described["partitions"]:
        if found["partition"] == partition:
            return int(found["leader"])
    raise StackError(f"topic {topic} has no partition {partition}")

