"""The bundled networks' cache (issue 14): a bundled spec is parsed once and then unpickled, and nothing
about the cache can change an answer — a changed spec, a changed cnncalc, a damaged file, a folder others
could write to, or no cache at all all give the network the parser gives."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from cnncalc.spec import cache, zoo


class Parser:
    """Counts parses; returns the real network of a bundled spec."""

    def __init__(self, name: str) -> None:
        self.name, self.calls = name, 0

    def __call__(self):
        self.calls += 1
        from cnncalc.spec.parse import parse_spec

        return parse_spec(zoo.bundled_text(self.name), file=f"{self.name} (bundled)", default_name=self.name)


@pytest.fixture
def folder(tmp_path, monkeypatch):
    path = tmp_path / "cache"
    monkeypatch.setenv("CNNCALC_CACHE_DIR", str(path))
    monkeypatch.delenv("CNNCALC_NO_CACHE", raising=False)
    return path


def data(name: str) -> bytes:
    return zoo.bundled_path(name).read_bytes()


def test_a_bundled_spec_is_parsed_once_then_read_from_the_cache(folder):
    parse = Parser("resnet18")
    first = cache.bundled_network("resnet18", data("resnet18"), parse)
    second = cache.bundled_network("resnet18", data("resnet18"), parse)
    assert parse.calls == 1
    assert second == first == parse()
    assert second is not first
    assert [p.name for p in folder.iterdir()] == [f"resnet18-{cache.key(data('resnet18'))}.pickle"]


def test_a_changed_spec_is_parsed_again_and_replaces_the_old_entry(folder):
    parse = Parser("lenet5")
    cache.bundled_network("lenet5", data("lenet5"), parse)
    changed = data("lenet5") + b"\n# edited\n"
    cache.bundled_network("lenet5", changed, parse)
    assert parse.calls == 2
    assert [p.name for p in folder.iterdir()] == [f"lenet5-{cache.key(changed)}.pickle"]


def test_a_changed_cnncalc_is_a_different_key(folder, monkeypatch):
    parse = Parser("lenet5")
    cache.bundled_network("lenet5", data("lenet5"), parse)
    before = cache.key(data("lenet5"))
    monkeypatch.setattr(cache, "_code_stamp", lambda: b"kinds/conv.py:1234:5678")  # a module edited
    assert cache.key(data("lenet5")) != before
    cache.bundled_network("lenet5", data("lenet5"), parse)
    assert parse.calls == 2


def test_the_names_of_two_models_never_clash(folder):
    cache.bundled_network("vgg16", data("vgg16"), Parser("vgg16"))
    cache.bundled_network("vgg16_bn", data("vgg16_bn"), Parser("vgg16_bn"))
    cache.bundled_network("vgg16", data("vgg16") + b"\n", Parser("vgg16"))  # replaces vgg16's entry, not vgg16_bn's
    assert sorted(p.name.rsplit("-", 1)[0] for p in folder.iterdir()) == ["vgg16", "vgg16_bn"]


@pytest.mark.parametrize("damage", [b"", b"not a pickle", b"\x80\x05K"])
def test_a_damaged_entry_is_parsed_again(folder, damage):
    parse = Parser("alexnet")
    expected = cache.bundled_network("alexnet", data("alexnet"), parse)
    (entry,) = folder.iterdir()
    entry.write_bytes(damage)
    assert cache.bundled_network("alexnet", data("alexnet"), parse) == expected
    assert parse.calls == 2


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_a_folder_others_can_write_to_is_never_read(folder):
    parse = Parser("alexnet")
    cache.bundled_network("alexnet", data("alexnet"), parse)
    folder.chmod(0o777)
    cache.bundled_network("alexnet", data("alexnet"), parse)
    assert parse.calls == 2  # a pickle runs code when loaded: not from a folder anybody could have written


def test_no_cache_when_turned_off_or_unwritable(folder, monkeypatch, tmp_path):
    parse = Parser("lenet5")
    monkeypatch.setenv("CNNCALC_NO_CACHE", "1")
    cache.bundled_network("lenet5", data("lenet5"), parse)
    cache.bundled_network("lenet5", data("lenet5"), parse)
    assert parse.calls == 2 and not folder.exists()
    monkeypatch.delenv("CNNCALC_NO_CACHE")
    blocked = tmp_path / "a file"
    blocked.write_text("x")
    monkeypatch.setenv("CNNCALC_CACHE_DIR", str(blocked / "cache"))  # cannot be made: a file is in the way
    assert cache.bundled_network("lenet5", data("lenet5"), parse) == parse()


def test_the_cli_answers_the_same_cold_warm_and_without_a_cache(tmp_path):
    def run(**env):
        environment = dict(os.environ, CNNCALC_CACHE_DIR=str(tmp_path / "c"), **env)
        done = subprocess.run([sys.executable, "-m", "cnncalc", "table", "resnet50", "--format", "json"], env=environment, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and done.stderr == ""
        return done.stdout

    cold = run()
    assert list((tmp_path / "c").iterdir())
    assert run() == cold == run(CNNCALC_NO_CACHE="1")


def test_a_given_input_size_is_never_taken_from_the_cache(folder):
    from cnncalc.model.shapes import Spatial

    network = zoo.load("resnet18", Spatial(64, 64, 3))
    assert network.input == Spatial(64, 64, 3)
    assert not folder.exists()


def test_every_bundled_network_comes_back_from_the_cache_equal(folder):
    for name in zoo.bundled_names():
        parse = Parser(name)
        stored = cache.bundled_network(name, data(name), parse)
        loaded = cache.bundled_network(name, data(name), parse)
        assert parse.calls == 1, name
        assert loaded == stored, name
        assert loaded.warnings == stored.warnings and loaded.file == stored.file, name
