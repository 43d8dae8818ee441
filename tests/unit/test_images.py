"""Images are rebuilt only when their inputs change."""
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
