"""Images are rebuilt only when their inputs change."""

import pytest

from fixtures import images


def write(root, files):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return images.context_files(root)


def test_hash_is_stable_and_follows_content_path_and_base(tmp_path):
    files = write(tmp_path, {"Dockerfile": "FROM x", "sub/a.py": "print(1)"})
    first = images.input_hash(files, tmp_path, "sha256:base1")
    assert images.input_hash(list(reversed(files)), tmp_path, "sha256:base1") == first
    assert images.input_hash(files, tmp_path, "sha256:base2") != first

    (tmp_path / "sub/a.py").write_text("print(2)")
    changed = images.input_hash(files, tmp_path, "sha256:base1")
    assert changed != first

    (tmp_path / "sub/a.py").rename(tmp_path / "b.py")
    moved = images.input_hash(images.context_files(tmp_path), tmp_path, "sha256:base1")
    assert moved != changed


def test_python_caches_are_not_inputs(tmp_path):
    files = write(tmp_path, {"Dockerfile": "FROM x", "__pycache__/m.pyc": "junk"})
    assert [f.name for f in files] == ["Dockerfile"]


def test_every_image_has_a_dockerfile():
    for spec in images.IMAGES.values():
        assert (spec.context / "Dockerfile").is_file(), spec
    assert (images.IMAGES["node"].context / "requirements.txt").is_file()


class NoRegistry:
    """A Docker client with no images and no registry."""

    class images:  # noqa: N801 - mirrors docker-py's attribute
        @staticmethod
        def get(tag):
            raise images.docker.errors.ImageNotFound(tag)

        @staticmethod
        def pull(repository, tag=None):
            raise images.docker.errors.APIError("Get https://registry/v2/: no such host")


def test_without_base_registry_or_debootstrap_a_non_root_user_is_told_what_to_do(monkeypatch):
    monkeypatch.setattr(images.shutil, "which", lambda name: None)
    monkeypatch.setattr(images.os, "geteuid", lambda: 1000)
    said: list[str] = []
    try:
        images.ensure_base(NoRegistry(), progress=said.append)
    except images.ImageError as exc:
        message = str(exc)
    else:
        raise AssertionError("ensure_base should have failed")
    assert "debootstrap" in message and "root" in message and images.SLIM_TAG in message
    assert any("cannot pull" in line for line in said), said


def test_root_without_debootstrap_installs_it_with_apt_get(monkeypatch):
    installed = {"debootstrap": False}
    ran = []

    def which(name):
        if name == "apt-get":
            return "/usr/bin/apt-get"
        return "/usr/sbin/debootstrap" if installed["debootstrap"] else None

    def run(cmd, **kwargs):
        ran.append(cmd[1])
        if cmd[1] == "install":
            installed["debootstrap"] = True
        return images.subprocess.CompletedProcess(cmd, 0, "")

    monkeypatch.setattr(images.shutil, "which", which)
    monkeypatch.setattr(images.os, "geteuid", lambda: 0)
    monkeypatch.setattr(images.subprocess, "run", run)
    assert images._debootstrap(progress=lambda line: None) == "/usr/sbin/debootstrap"
    assert ran == ["update", "install"]


def test_node_wheels_are_for_the_engines_architecture_not_the_hosts():
    from fixtures.images import ImageError, node_platforms

    assert node_platforms("x86_64")[0] == "manylinux2014_x86_64"
    assert all(tag.endswith("_aarch64") for tag in node_platforms("aarch64"))
    assert node_platforms("arm64") == node_platforms("aarch64")  # Docker Desktop on a Mac
    try:
        node_platforms("s390x")
    except ImageError as exc:
        assert "s390x" in str(exc)
    else:
        raise AssertionError("an architecture without wheels must be refused")


def fake_pip(monkeypatch, published_as_source: set[str], pure: bool = True):
    """pip as the index would answer: a download for the image fails on the first
    requirement whose wheel is neither published nor built yet."""
    built: set[str] = set()
    calls: list[list[str]] = []

    def run(cmd, **kwargs):
        calls.append(cmd)
        verb = cmd[5]
        if verb == "wheel":
            if pure:
                built.add(cmd[-1])
            return images.subprocess.CompletedProcess(cmd, 0, "")
        for requirement in sorted(published_as_source - built):
            said = f"ERROR: No matching distribution found for {requirement}\n"
            return images.subprocess.CompletedProcess(cmd, 1, said)
        return images.subprocess.CompletedProcess(cmd, 0, "")

    monkeypatch.setattr(images.subprocess, "run", run)
    return calls


def test_wheels_resolve_for_the_image_and_build_source_only_packages_one_by_one(
    monkeypatch, tmp_path
):
    calls = fake_pip(monkeypatch, {"ydiff<1.5,>=1.2.0", "other==1"})
    images.build_wheels(tmp_path / "r.txt", tmp_path, lambda line: None, ["manylinux2014_x86_64"])
    verbs = [cmd[5] for cmd in calls]
    assert verbs == ["download", "wheel", "download", "wheel", "download"]
    download = calls[0]
    assert "--only-binary=:all:" in download and "manylinux2014_x86_64" in download
    assert [cmd[-1] for cmd in calls if cmd[5] == "wheel"] == ["other==1", "ydiff<1.5,>=1.2.0"]
    assert all("--no-deps" in cmd for cmd in calls if cmd[5] == "wheel")


def test_a_source_only_package_that_is_not_pure_python_is_one_clear_error(monkeypatch, tmp_path):
    fake_pip(monkeypatch, {"native==1"}, pure=False)
    with pytest.raises(images.ImageError, match="No matching distribution found for native==1"):
        images.build_wheels(tmp_path / "r.txt", tmp_path, lambda line: None)
