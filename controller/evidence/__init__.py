"""Evidence packs: a signed, hash-manifested directory (JSON + HTML report + SigMF snippets) per request."""

from controller.evidence.model import EvidencePack
from controller.evidence.pack import PackProblem, verify_pack, write_pack, zip_pack

__all__ = ["EvidencePack", "PackProblem", "verify_pack", "write_pack", "zip_pack"]
