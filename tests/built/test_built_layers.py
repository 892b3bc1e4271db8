"""The two layers `sam build` produced (layers/intake/Makefile): each holds wheels for its own
processor, and both hold the same distributions and the same tracker_intake.

This machine runs only one of them (test_built_handlers.py); these tests read the other's files:
an extension module's ELF header names the machine it runs on, a wheel's WHEEL file its platform.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from intake_dev.template import REPO_ROOT

BUILD = REPO_ROOT / ".aws-sam" / "build"
# Each layer: the ELF e_machine of its compiled modules, and the architecture its wheel tags name.
LAYERS = {"SharedLayerArm64": (183, "aarch64"), "SharedLayerX86": (62, "x86_64")}  # EM_AARCH64, EM_X86_64


def site(layer: str) -> Path:
    found = BUILD / layer / "python"
    assert found.is_dir(), "run make built first (make test does)"
    return found


def elf_machine(shared_object: Path) -> int:
    """e_machine of an ELF file: the half-word at byte 18, in the byte order byte 5 names."""
    header = shared_object.read_bytes()[:20]
    assert header[:4] == b"\x7fELF", shared_object
    order = "<" if header[5] == 1 else ">"
    machine: int = struct.unpack(f"{order}H", header[18:20])[0]
    return machine


def wheel_tags(site_dir: Path) -> dict[str, list[str]]:
    """Each installed distribution's wheel tags (the `Tag:` lines of its dist-info WHEEL)."""
    return {
        wheel.parent.name: [
            line.split(":", 1)[1].strip() for line in wheel.read_text().splitlines() if line.startswith("Tag:")
        ]
        for wheel in site_dir.glob("*.dist-info/WHEEL")
    }


@pytest.mark.parametrize(("layer", "machine"), [(name, machine) for name, (machine, _) in LAYERS.items()])
def test_every_compiled_module_of_a_layer_is_for_its_processor(layer: str, machine: int) -> None:
    # GIVEN the layer built for one architecture
    modules = sorted(site(layer).rglob("*.so"))
    # WHEN each extension module's ELF header is read
    machines = {module.relative_to(site(layer)).as_posix(): elf_machine(module) for module in modules}
    # THEN pydantic-core's is among them, and every one is for that processor
    assert any(name.startswith("pydantic_core/_pydantic_core.") for name in machines), machines
    assert set(machines.values()) == {machine}, machines


@pytest.mark.parametrize(("layer", "arch"), [(name, arch) for name, (_, arch) in LAYERS.items()])
def test_every_wheel_of_a_layer_is_pure_python_or_for_its_processor(layer: str, arch: str) -> None:
    # GIVEN the wheels installed in the layer built for one architecture
    tags = wheel_tags(site(layer))
    # WHEN their tags are read
    platform_specific = {name: found for name, found in tags.items() if any(not t.endswith("-any") for t in found)}
    # THEN pydantic-core's is a CPython 3.12 manylinux wheel for that processor, and so is every
    # other compiled one; the rest are pure Python
    (pydantic_core,) = [name for name in tags if name.startswith("pydantic_core-")]
    assert tags[pydantic_core] and all(
        t.startswith("cp312-cp312-manylinux") and t.endswith(f"_{arch}") for t in tags[pydantic_core]
    ), tags[pydantic_core]
    assert all(t.endswith(f"_{arch}") for found in platform_specific.values() for t in found), platform_specific


def test_both_layers_hold_the_same_distributions_and_the_same_package() -> None:
    # GIVEN the arm64 layer and the x86_64 layer (the one the built handlers run on here)
    arm64, x86 = site("SharedLayerArm64"), site("SharedLayerX86")
    # WHEN their distributions and their tracker_intake files are compared
    # THEN they are the same: the built handlers' run on x86_64 stands for the arm64 layer in all
    # but its compiled modules (which the tests above read)
    assert sorted(p.name for p in arm64.glob("*.dist-info")) == sorted(p.name for p in x86.glob("*.dist-info"))
    ours = sorted(p.relative_to(arm64) for p in (arm64 / "tracker_intake").rglob("*") if p.is_file())
    assert ours and ours == sorted(p.relative_to(x86) for p in (x86 / "tracker_intake").rglob("*") if p.is_file())
    assert all((arm64 / p).read_bytes() == (x86 / p).read_bytes() for p in ours)
    # AND those are the source's tracker_intake files, without bytecode
    source = REPO_ROOT / "layers" / "intake"
    assert ours == sorted(
        p.relative_to(source)
        for p in (source / "tracker_intake").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )
