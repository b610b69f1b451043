"""`cellward evidence verify PACK`: prints each problem found in a pack, or the signer when it is intact."""

from __future__ import annotations

from pathlib import Path

from controller.evidence.pack import verify_pack


def run_verify(pack: Path, public_key: str | None) -> int:
    """0 when the pack is intact, 1 when anything fails (each failing file/field on its own line)."""
    problems, manifest = verify_pack(pack, public_key)
    if problems:
        print(f"evidence pack {pack} FAILS verification:")
        for problem in problems:
            print(f"  {problem}")
        return 1
    signer = manifest["signer"]
    print(
        f"evidence pack {pack} intact: {len(manifest['files'])} files match the manifest signed by "
        f"{signer['id']} (Ed25519 key {signer['public_key']})"
    )
    if public_key is None:
        print("  compare that key with the controller's published key, or pass --public-key")
    return 0
