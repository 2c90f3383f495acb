"""kustomization.yaml: resources/bases/components, patches, ``replicas:``, ``images:``, name affixes.

``parse_kustomization(data, path)`` returns a :class:`Kustomization` whose file references are
resolved to root-relative POSIX paths (remote URLs are kept out). Applying it to parsed
resources is done by the graph layer, which knows every parsed file.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Any

from qualscan.model import Diagnostic
from qualscan.parsers.yamlsafe import as_dict, as_list, decode, load_one


@dataclass
class ImageOverride:
    name: str
    new_name: str | None
    new_tag: str | None
    digest: str | None
    line: int


@dataclass
class Kustomization:
    path: str
    directory: str
    resources: list[str] = field(default_factory=list)  # files or directories, root-relative
    patch_files: list[str] = field(default_factory=list)  # strategic-merge patch files
    inline_patches: list[tuple[str, int]] = field(default_factory=list)  # (yaml text, line)
    replicas: list[tuple[str, int, int]] = field(default_factory=list)  # (name, count, line)
    images: list[ImageOverride] = field(default_factory=list)
    name_prefix: str = ""
    name_suffix: str = ""
    namespace: str = ""
    is_component: bool = False


def _join(directory: str, ref: str) -> str | None:
    if "://" in ref or ref.startswith(("github.com/", "git@", "ssh:")) or "?ref=" in ref:
        return None
    return posixpath.normpath(posixpath.join(directory, ref)).lstrip("./") if ref else None


def parse_kustomization(data: bytes | str, path: str) -> tuple[Kustomization, list[Diagnostic]]:
    doc, diags = load_one(decode(data), path)
    directory = posixpath.dirname(path)
    k = Kustomization(path=path, directory=directory)
    d = as_dict(doc)
    k.is_component = str(d.get("kind", "")) == "Component"
    for key in ("resources", "bases", "components"):
        for ref in as_list(d.get(key)):
            if isinstance(ref, str):
                resolved = _join(directory, ref)
                if resolved:
                    k.resources.append(resolved)
    for ref in as_list(d.get("patchesStrategicMerge")):
        if isinstance(ref, str):
            if "\n" in ref:
                k.inline_patches.append((ref, as_list(d.get("patchesStrategicMerge")).line))
            else:
                resolved = _join(directory, ref)
                if resolved:
                    k.patch_files.append(resolved)
    patches = as_list(d.get("patches"))
    for i, p in enumerate(patches):
        pd = as_dict(p) if isinstance(p, dict) else None
        if isinstance(p, str):
            resolved = _join(directory, p)
            if resolved:
                k.patch_files.append(resolved)
        elif pd is not None:
            if isinstance(pd.get("path"), str):
                resolved = _join(directory, pd["path"])
                if resolved:
                    k.patch_files.append(resolved)
            elif isinstance(pd.get("patch"), str) and not pd["patch"].lstrip().startswith("- op"):
                k.inline_patches.append((pd["patch"], pd.line_of("patch", patches.line_of(i)) + 1))
    reps = as_list(d.get("replicas"))
    for i, r in enumerate(reps):
        rd = as_dict(r)
        count = rd.get("count")
        if isinstance(rd.get("name"), str) and isinstance(count, int) and not isinstance(count, bool):
            k.replicas.append((rd["name"], count, rd.line_of("count", reps.line_of(i))))
    for img in as_list(d.get("images")):
        im = as_dict(img)
        if isinstance(im.get("name"), str):
            k.images.append(
                ImageOverride(
                    im["name"],
                    str(im["newName"]) if im.get("newName") else None,
                    str(im["newTag"]) if im.get("newTag") is not None else None,
                    str(im["digest"]) if im.get("digest") else None,
                    im.line,
                )
            )
    k.name_prefix = str(d.get("namePrefix") or "")
    k.name_suffix = str(d.get("nameSuffix") or "")
    k.namespace = str(d.get("namespace") or "")
    return k, diags


def apply_image(image: str, overrides: list[ImageOverride]) -> str:
    """Apply kustomize ``images:`` overrides to one image reference."""
    base, tag = split_image(image)
    for o in overrides:
        if base == o.name or base.rsplit("/", 1)[-1] == o.name:
            new = o.new_name or base
            if o.digest:
                return f"{new}@{o.digest}"
            return f"{new}:{o.new_tag}" if o.new_tag else (f"{new}:{tag}" if tag else new)
    return image


def split_image(image: str) -> tuple[str, str | None]:
    """``registry:5000/app:1.2`` -> (``registry:5000/app``, ``1.2``); digests count as tags."""
    if "@" in image:
        base, digest = image.split("@", 1)
        return split_image(base)[0], "@" + digest
    last = image.rsplit("/", 1)[-1]
    if ":" in last:
        return image[: len(image) - len(last)] + last.split(":", 1)[0], last.split(":", 1)[1]
    return image, None


def is_kustomization(path: str) -> bool:
    return posixpath.basename(path) in ("kustomization.yaml", "kustomization.yml", "Kustomization")


__all__: list[Any] = ["Kustomization", "ImageOverride", "parse_kustomization", "apply_image", "split_image"]
