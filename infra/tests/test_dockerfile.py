"""Checks docker/Dockerfile's shape (no Docker engine here: hadolint lints it, and
scripts/check-binaries.sh checks its packages against what the built bootstraps need)."""

from __future__ import annotations

import re

import pytest

from template_model import DOCKERFILE_PATH, TEMPLATE_PATH, load_template

HANDLERS = ("dropbox-lambda", "ingest-lambda", "processing-lambda")


def parse_stages(text: str) -> tuple[dict[str, str], dict[str, dict]]:
    """(ARG defaults before the first FROM, stage name -> {"from": image, "lines": [...]})."""
    joined = re.sub(r"\\\n", " ", text)
    args: dict[str, str] = {}
    stages: dict[str, dict] = {}
    current = None
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        words = line.split()
        if words[0].upper() == "ARG" and current is None and "=" in words[1]:
            name, _, value = words[1].partition("=")
            args[name] = value
        elif words[0].upper() == "FROM":
            assert len(words) == 4 and words[2].upper() == "AS", f"unnamed stage: {line}"
            current = {"from": words[1], "lines": []}
            stages[words[3]] = current
        elif current is not None:
            current["lines"].append(line)
    return args, stages


@pytest.fixture(scope="module")
def dockerfile():
    return parse_stages(DOCKERFILE_PATH.read_text(encoding="utf-8"))


def base_image(stages: dict[str, dict], args: dict[str, str], stage: str) -> str:
    image = stages[stage]["from"]
    while image in stages:
        image = stages[image]["from"]
    return re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], image)


def test_each_handler_has_a_target_on_provided_al2023_with_its_bootstrap(dockerfile):
    args, stages = dockerfile
    for handler in HANDLERS:
        assert handler in stages, handler
        assert base_image(stages, args, handler) == "public.ecr.aws/lambda/provided:al2023"
        copies = [line for line in stages[handler]["lines"] if line.upper().startswith("COPY")]
        assert copies == [f"COPY --from=build /out/{handler}/bootstrap /var/runtime/bootstrap"], handler


def test_the_build_stage_runs_the_ci_build_script_on_amazon_linux_2023(dockerfile):
    args, stages = dockerfile
    assert re.fullmatch(r"swift:6\.\d+-amazonlinux2023", base_image(stages, args, "build"))
    runs = [line for line in stages["build"]["lines"] if line.upper().startswith("RUN")]
    assert runs[-1] == "RUN REQUIRE_HANDLERS=1 SCRATCH=/src/.build bash scripts/build-lambdas.sh /out"
    assert any("openssl-devel" in r and "libcurl-devel" in r and "zlib-devel" in r for r in runs)


def test_runtime_packages_are_installed_in_one_layer_and_cleaned(dockerfile):
    _, stages = dockerfile
    runs = [line for line in stages["lambda-runtime"]["lines"] if line.upper().startswith("RUN")]
    assert len(runs) == 1
    assert runs[0].startswith("RUN dnf install -y ") and runs[0].endswith("&& dnf clean all")


def test_the_template_deploys_one_image_per_dockerfile_target():
    template = load_template(TEMPLATE_PATH)
    images = {p for p in template["Parameters"] if p.endswith("ImageUri")}
    assert images == {"DropboxImageUri", "IngestImageUri", "ProcessingImageUri"}
