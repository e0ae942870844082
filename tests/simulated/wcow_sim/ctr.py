"""containerd's image store and the simulated ctr.exe (tests only).

containerd keeps images per namespace in its metadata store; buildkitd's containerd worker writes the images it
exports into its own namespace (worker label ``containerd.namespace``, ``buildkit``), under the names given to
the image exporter, and they stay there until someone deletes them. The store is kept in the host state under
``containerd_images`` (``{namespace: {name: {digest, size, created}}}``).

``ctr.exe`` (containerd's cmd/ctr, shipped in containerd's Windows release ``bin/``) is modelled for what the
smoke test uses, with the real flags, texts and exit codes:

* global ``--address/-a`` (default ``\\\\.\\pipe\\containerd-containerd``) and ``--namespace/-n``
  (default ``default``, or ``CONTAINERD_NAMESPACE``); the pipe must be served by a running containerd, else
  ``ctr: failed to dial ...`` and rc 1;
* ``images ls [-q]`` (aliases ``image``, ``i``; ``list``): the table ``REF TYPE DIGEST SIZE PLATFORMS LABELS``
  or names only;
* ``images rm NAME...`` (``remove``, ``delete``, ``del``): prints each name it deleted; a name that is not
  there is only a warning on stderr (``level=warning msg="NAME: image not found"``) and the exit code stays 0,
  as ``ctr images delete`` does. Nothing else (content, snapshots, buildkitd's cache) is touched.
"""

from __future__ import annotations

import typing as t

from .host import Host
from .registry import program

DEFAULT_ADDRESS = "\\\\.\\pipe\\containerd-containerd"
IMAGE_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"


def images(host: Host, namespace: str) -> dict[str, dict[str, t.Any]]:
    """The images of one namespace (a live view: changes are kept in the state)."""
    return host.state.setdefault("containerd_images", {}).setdefault(namespace, {})


def record_image(host: Host, namespace: str, name: str, digest: str, size: int) -> None:
    """An image exporter's Images.Update-or-Create: the name now points at this manifest."""
    images(host, namespace)[name] = {"digest": digest, "size": size, "created": host.clock}
    host.event("containerd_image", namespace, name, digest)


def delete_image(host: Host, namespace: str, name: str) -> bool:
    found = images(host, namespace).pop(name, None) is not None
    if found:
        host.event("containerd_image_deleted", namespace, name)
    return found


def _serving(host: Host, address: str) -> bool:
    pipe = address.replace("/", "\\").rsplit("\\", 1)[-1]
    return any(s.get("status") == "Running" and s.get("pipe") == pipe for s in host.state["services"].values())


def _size(size: int) -> str:
    return f"{size / 1024:.1f} KiB" if size < 1024 * 1024 else f"{size / 1024 / 1024:.1f} MiB"


@program("ctr.exe")
def ctr_exe(host: Host, path: str, argv: list[str]) -> tuple[int, str, str]:
    address, namespace = DEFAULT_ADDRESS, (host.process_env.get("CONTAINERD_NAMESPACE") or "default")
    rest = list(argv)
    while rest and rest[0].startswith("-"):
        flag = rest.pop(0)
        name, has_value, inline = flag.lstrip("-").partition("=")
        if name in ("address", "a", "namespace", "n"):
            if not has_value:
                if not rest:
                    return 1, "", f"ctr: flag needs an argument: -{name}\n"
                inline = rest.pop(0)
            if name in ("address", "a"):
                address = inline
            else:
                namespace = inline
        elif name in ("version", "v"):
            return 0, f"ctr github.com/containerd/containerd/v2 v{host.exe_version(path)}\n", ""
        else:
            return 1, "", f"Incorrect Usage: flag provided but not defined: -{name}\n"
    if not rest or rest[0] not in ("images", "image", "i"):
        return 1, "", f"ctr: simulated only for images ls and images rm, not {rest!r}\n"
    if not _serving(host, address):
        return 1, "", (f'ctr: failed to dial "{address}": connection error: desc = "transport: Error while dialing: '
                       f'open {address}: The system cannot find the file specified."\n')
    command, args = (rest[1] if len(rest) > 1 else ""), rest[2:]
    store = images(host, namespace)
    if command in ("ls", "list"):
        if args[:1] in (["-q"], ["--quiet"]):
            return 0, "".join(f"{n}\n" for n in sorted(store)), ""
        lines = ["REF TYPE DIGEST SIZE PLATFORMS LABELS"]
        lines += [f"{n} {IMAGE_MEDIA_TYPE} {i['digest']} {_size(i['size'])} windows/amd64 -" for n, i in sorted(store.items())]
        return 0, "\n".join(lines) + "\n", ""
    if command in ("rm", "remove", "delete", "del"):
        names = [a for a in args if a not in ("--sync",)]
        if not names:
            return 1, "", "ctr: must specify at least one image to delete\n"
        out, err = "", ""
        for name in names:
            if delete_image(host, namespace, name):
                out += name + "\n"  # fmt.Println
            else:
                err += f'time="2024-01-01T00:00:00Z" level=warning msg="{name}: image not found"\n'
        return 0, out, err
    return 1, "", f"ctr: simulated only for images ls and images rm, not images {command!r}\n"
