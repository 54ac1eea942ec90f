"""`sorabox ray ...`: deploy the generation application on a Ray cluster and see how it is doing."""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import replace
from typing import TextIO

from core.execution.ray_bridge import connect, replica_spec
from core.execution.ray_wire import RayConfig
from core.settings import Settings, SettingsError


def _config(args: argparse.Namespace, settings: Settings) -> RayConfig:
    config = RayConfig.from_settings(settings)
    if args.address:
        config = replace(config, address=args.address)
    if args.app:
        config = replace(config, app_name=args.app)
    if getattr(args, "replicas", None) is not None:
        if args.replicas < 1:
            raise SettingsError(f"--replicas must be at least 1, got {args.replicas}")
        config = replace(config, replicas=args.replicas)
    if getattr(args, "replica_cpus", None) is not None:
        config = replace(config, cpus_per_replica=args.replica_cpus)
    return config


def _connect(address: str, err: TextIO) -> bool:
    try:
        import ray  # noqa: F401
    except ImportError as exc:
        err.write(f"sorabox: the ray commands need the [ray] extra (pip install 'sorabox[ray]'): {exc}\n")
        return False
    try:
        connect(address)
    except ConnectionError as exc:
        err.write(f"sorabox: {exc}\n")
        return False
    return True


def _describe(app_name: str, out: TextIO) -> int:
    import ray

    from model.ray_deployment import app_state

    resources = ray.cluster_resources()
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    out.write(
        f"cluster: {len(nodes)} node(s), {resources.get('CPU', 0):g} CPU(s), {resources.get('GPU', 0):g} GPU(s)\n"
    )
    state = app_state(app_name)
    if not state.exists:
        out.write(f"application {app_name!r}: not deployed (run `sorabox ray deploy`)\n")
        return 1
    replicas = ", ".join(f"{count} {name}" for name, count in sorted(state.replica_states.items())) or "none"
    out.write(f"application {app_name!r}: {state.status}; replicas: {replicas}\n")
    if state.message:
        out.write(f"  {state.message}\n")
    return 0 if state.status == "RUNNING" else 1


def cmd_deploy(args: argparse.Namespace, settings: Settings) -> int:
    config = _config(args, settings)
    if not _connect(config.address, sys.stderr):
        return 2
    from model.ray_deployment import deploy

    spec = replica_spec(config)
    sys.stdout.write(f"deploying {spec.backend!r} as {spec.app_name!r} on {config.address}; replicas load it...\n")
    try:
        deploy(spec)
    except Exception as exc:  # Serve says why: a replica that failed to load, resources the cluster lacks
        sys.stderr.write(f"sorabox: the deployment failed: {exc}\n")
        return 1
    return _describe(spec.app_name, sys.stdout)


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    config = _config(args, settings)
    if not _connect(config.address, sys.stderr):
        return 2
    sys.stdout.write(f"Ray cluster at {config.address}\n")
    return _describe(config.app_name, sys.stdout)


def register(sub: argparse._SubParsersAction) -> None:
    ray = sub.add_parser("ray", help="generation on a Ray Serve cluster (SORABOX_EXECUTOR=ray)")
    ray_sub = ray.add_subparsers(dest="ray_command", required=True)

    deploy = ray_sub.add_parser("deploy", help="(re)deploy the backend on the cluster, one replica per GPU")
    status = ray_sub.add_parser("status", help="the cluster's nodes and the application's replicas")
    for parser in (deploy, status):
        parser.add_argument("--address", help="auto, host:port or ray://host:port (SORABOX_RAY_ADDRESS)")
        parser.add_argument("--app", help="the Serve application's name (SORABOX_RAY_APP, default sorabox)")
    deploy.add_argument("--backend", help="procedural (default), ltx2, or module:Class (SORABOX_BACKEND)")
    deploy.add_argument("--replicas", type=int, help="how many replicas (SORABOX_RAY_REPLICAS; default one per GPU)")
    deploy.add_argument("--replica-cpus", type=float, help="CPUs each replica takes (SORABOX_RAY_REPLICA_CPUS)")
    deploy.set_defaults(func=cmd_deploy)
    status.set_defaults(func=cmd_status)
    # Ray's own INFO lines would drown the answer.
    logging.getLogger("ray").setLevel(logging.WARNING)
