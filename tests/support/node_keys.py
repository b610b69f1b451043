"""Keys for one field node (sensor or blocker) and the controller that commands it, as provision makes them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cellward.signing import Keyring, NodeKey


@dataclass
class NodeKeys:
    node: NodeKey
    controller: NodeKey
    node_ring: Keyring  # the node's public key, as the controller trusts it


def make_node_keys(directory: Path, node_id: str, key_file: str) -> NodeKeys:
    """The node's key in `directory/key_file` and `controller-keyring.json` beside it, the way nodes read them."""
    node, controller = NodeKey.generate(node_id), NodeKey.generate("controller")
    node.save(directory / key_file)
    controller_ring = Keyring()
    controller_ring.add("controller", controller.public_b64)
    controller_ring.save(directory / "controller-keyring.json")
    node_ring = Keyring()
    node_ring.add(node_id, node.public_b64)
    return NodeKeys(node, controller, node_ring)
